"""Entry point for the PyInstaller bundle: the same `main` as the `backdrop` console script."""

from app.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
