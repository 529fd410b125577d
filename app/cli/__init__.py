"""The command line: `backdrop` and its commands; it drives the engine, as the GUI does."""
