"""`make bench`: cold start, per-response cost, tick throughput and memory, each as a
ratio against a baseline measured in the same run (machines here are noisy)."""
