"""Networks: the coursework starter's CNN (time-conditioned, image in, image out)."""
