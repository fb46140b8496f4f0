"""Benchmarks you can run (``descentlab bench``): one optimizer step against torch.optim, and the airfoil runs against the notes' loop."""
