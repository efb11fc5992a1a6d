# SPDX-License-Identifier: Apache-2.0
#
# The benchmark's two plots, from the .dat files bench/driver.c writes:
#   scale.png     ADD and DEL latency against the pods already on the node
#   parallel.png  ADD throughput and p99 latency against concurrent workers
# Run by bench/run.sh as: gnuplot -e "dat='build/bench'; docs='docs'" bench/plots.gp
# A log scale: ptp + host-local and the floor are an order of magnitude apart.

plugins = "floor rivet ptp"
colour(i) = word("#2ca02c #1f77b4 #d62728", i)

set terminal pngcairo size 1100,480 font "DejaVu Sans,10"
set grid
set key outside top center horizontal

set output docs."/scale.png"
set multiplot layout 1,2
set title "ADD of one more pod, N pods on the node (median)"
set xlabel "pods on the node"
set ylabel "ADD latency (ms)"
set logscale y
plot for [i=1:3] dat."/scale-".word(plugins, i).".dat" using 1:2 with linespoints lw 2 pt 7 \
	lc rgb colour(i) title word(plugins, i)
set title "DEL of that pod (median)"
set ylabel "DEL latency (ms)"
unset logscale y
set yrange [0:*]
plot for [i=1:3] dat."/scale-".word(plugins, i).".dat" using 1:4 with linespoints lw 2 pt 7 \
	lc rgb colour(i) title word(plugins, i)
unset multiplot
set autoscale y

set output docs."/parallel.png"
set multiplot layout 1,2
set title "Concurrent ADDs into fresh pods: throughput"
set xlabel "workers"
set logscale x 2
set xrange [0.85:19]
set xtics ("1" 1, "2" 2, "4" 4, "8" 8, "16" 16)
set ylabel "ADDs per second"
unset logscale y
set yrange [0:*]
plot for [i=1:3] dat."/par-".word(plugins, i).".dat" using 1:2 with linespoints lw 2 pt 7 \
	lc rgb colour(i) title word(plugins, i)
set title "Concurrent ADDs: p99 latency of one ADD"
set ylabel "ADD p99 latency (ms)"
set logscale y
set autoscale y
plot for [i=1:3] dat."/par-".word(plugins, i).".dat" using 1:4 with linespoints lw 2 pt 7 \
	lc rgb colour(i) title word(plugins, i)
unset multiplot
