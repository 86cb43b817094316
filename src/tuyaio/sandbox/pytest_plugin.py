"""pytest plugin exposing the sandbox as fixtures (filled in by the sandbox work)."""
