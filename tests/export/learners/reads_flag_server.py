# A hostile learner for reuse-address: try to read the platform's /flag from the program the
# proof runs, and say what came of it in the line the proof shows (a program that dies at once).
try:
    with open("/flag") as f:
        outcome = "read " + f.read().strip()
except OSError as error:
    outcome = type(error).__name__
raise SystemExit(f"opening /flag: {outcome}")
