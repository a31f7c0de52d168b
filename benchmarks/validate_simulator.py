"""Compare astro-i2i's simulator with CASA (simobserve + tclean) reference images.

Usage: python benchmarks/validate_simulator.py [REFERENCE_DIR]
(default: ../shared/reference/casa beside the checkout). Prints ours vs CASA.
"""

import sys
import time
from pathlib import Path

import numpy as np

from astro_i2i.simulate.validation import compare_with_casa

reference = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "reference" / "casa"
start = time.perf_counter()
result = compare_with_casa(reference)

print(f"CASA reference: {reference}")
print("\nPSF main-lobe fit (ours vs CASA tclean header)")
print(f"{'image':>6} {'BMAJ ours':>10} {'CASA':>8} {'diff %':>7} {'BMIN ours':>10} {'CASA':>8} {'diff %':>7} {'BPA ours':>9} {'CASA':>7} {'diff':>6}")
worst = np.zeros(3)
for row in result["beams"]:
    (om, on, op), (cm, cn, cp) = row["ours"], row["casa"]
    dmaj, dmin, dpa = 100 * (om / cm - 1), 100 * (on / cn - 1), (op - cp + 90) % 180 - 90
    worst = np.maximum(worst, np.abs([dmaj, dmin, dpa]))
    print(f"{row['image']:>6} {om:10.4f} {cm:8.4f} {dmaj:7.2f} {on:10.4f} {cn:8.4f} {dmin:7.2f} {op:9.2f} {cp:7.2f} {dpa:6.2f}")
print(f"worst: BMAJ {worst[0]:.2f} %, BMIN {worst[1]:.2f} % (limit 5 %), BPA {worst[2]:.2f} deg (limit 10 deg)")

print("\nNoise RMS on empty fields (sigma-clipped, inside the PB limit), uJy/beam")
for ours, casa in result["noise"]:
    print(f"  ours {1e6 * ours:6.2f}   CASA {1e6 * casa:6.2f}   diff {100 * (ours / casa - 1):+6.2f} % (limit 10 %)")

ac = result["autocorrelation"]
print(f"\nAzimuthally averaged noise autocorrelation, lags 0-20 px: correlation {ac['correlation']:.4f} (limit >= 0.95)")
print("  ours: " + " ".join(f"{v:.3f}" for v in ac["ours"]))
print("  CASA: " + " ".join(f"{v:.3f}" for v in ac["casa"]))

ours_r, casa_r = result["mask_radius"][0]
print(f"\nNaN-mask radius: ours {ours_r:.2f} px, CASA {casa_r:.2f} px, diff {ours_r - casa_r:+.2f} px (limit 3 px)")
print(f"Primary beam: max |ours - CASA| inside the PB limit = {result['primary_beam_max_difference']:.4f}")

positions = result["positions"]
print(f"\nSource positions: {len(positions)} sources with peak S/N >= 5 in CASA's dirty image;")
print("positions fitted in CASA's (noisy) dirty image vs our noise-free dirty image of the same sky model")
print(f"{'image':>6} {'src':>4} {'S/N':>5} {'dx':>6} {'dy':>6} {'|d|':>5} {'sigma':>6} {'ours-truth':>10}")
sigma_beam = 0.857 / 2.3548 / 0.1  # pixels
for p in positions:
    sigma = np.sqrt(2) * sigma_beam / p["snr"]
    print(f"{p['image']:>6} {p['source_id']:4d} {p['snr']:5.1f} {p['dx']:6.2f} {p['dy']:6.2f} {p['offset']:5.2f} {sigma:6.2f} {p['ours_vs_truth']:10.2f}")
d = np.array([[p["dx"], p["dy"]] for p in positions])
sem = d.std(axis=0, ddof=1) / np.sqrt(len(d))
print(f"mean offset (systematic): dx {d[:, 0].mean():+.2f} +- {sem[0]:.2f} px, dy {d[:, 1].mean():+.2f} +- {sem[1]:.2f} px")
print(f"median |offset| {np.median(np.hypot(*d.T)):.2f} px; expected from CASA's noise alone (sigma = sqrt(2) sigma_beam / SNR per axis)")
print(f"our noise-free positions vs truth: max {max(p['ours_vs_truth'] for p in positions):.2f} px")
print(f"\n({time.perf_counter() - start:.1f} s)")
