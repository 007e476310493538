"""Chain specs (Substrate JSON format), presets and genesis building."""
