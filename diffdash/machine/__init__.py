"""Where a run trains: the device, precision and threads (`devices`), the memory a configuration needs
(`memory_budget`) and the process's and GPU's load (`usage`). Kept empty: torch is imported lazily."""
