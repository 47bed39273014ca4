"""A run's events read back: the reducer (`history`), where its time went (`time_spent`), how far it is
(`progress`), its row in `diffdash runs` (`summary`), event lines, the headless printer and the trained
network loader. Kept empty, so importing one of them imports nothing else (listing stays instant)."""
