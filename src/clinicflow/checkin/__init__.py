"""The day of the visit: check-in locations, signed QR codes, scanning, staff check-in,
the live queue per location and its wait-time estimates."""
