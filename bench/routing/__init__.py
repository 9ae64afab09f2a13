"""The routing simulator, its scenarios, baselines and SVG plots, and the benchmark harnesses."""
