"""Where frames come from and go to: cameras, files, the demo, sinks and the virtual camera."""
