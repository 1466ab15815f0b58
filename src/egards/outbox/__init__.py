"""Side effects after commit: messages written with the change, delivered by the worker."""
