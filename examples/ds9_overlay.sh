#!/usr/bin/env bash
# Overlay an astro-i2i region file on an image in SAOImage DS9 without a display, check that DS9 read every
# region, and save a screenshot of the DS9 window.
#
#   bash examples/ds9_overlay.sh IMAGE REGIONS OUT.png
#
# Needs ds9, Xvfb, xpaset/xpaget (xpa-tools) and ImageMagick's `import` (Debian: apt-get install saods9 xvfb
# xpa-tools imagemagick). DS9's own `-saveimage` fails under Xvfb ("An error has occurred while creating"), so
# the window is grabbed from the X server. docs/_static/ds9_overlay.png was made with
#
#   astro-i2i reconstruct dirty.image -o field_i2i.fits --regions field.reg    (docs/tutorial.rst)
#   bash examples/ds9_overlay.sh dirty.image.fits field.reg docs/_static/ds9_overlay.png
#
# Exit status 0 when DS9 holds as many regions as the file has, 1 otherwise (the count is printed).
set -euo pipefail
image=$1 regions=$2 out=$3
display=":$((90 + RANDOM % 400))"
title="i2i$$"
Xvfb "$display" -screen 0 800x950x24 >/dev/null 2>&1 &
xvfb=$!
trap 'xpaset -p "$title" exit >/dev/null 2>&1 || true; kill $xvfb 2>/dev/null || true' EXIT
sleep 1
DISPLAY=$display ds9 -title "$title" -geometry 760x900 "$image" -scale zscale -cmap grey -zoom 2 </dev/null \
    >/dev/null 2>&1 &
for _ in $(seq 50); do xpaget "$title" version >/dev/null 2>&1 && break; sleep 0.2; done
xpaset -p "$title" regions load "$(realpath "$regions")"
written=$(grep -c '^ellipse' "$regions")
loaded=$(xpaget "$title" regions -format ds9 -system wcs | grep -c '^ellipse' || true)
echo "$regions: $written ellipses in the file, $loaded loaded by DS9 $(xpaget "$title" version | cut -d' ' -f2)"
sleep 1
DISPLAY=$display import -window root -crop 760x900+0+0 "$out"
echo "-> $out"
[ "$written" -gt 0 ] && [ "$written" = "$loaded" ]
