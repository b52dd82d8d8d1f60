"""seldonctl: the command-line tool (render, generate, install, status, doctor, diff, uninstall)."""
