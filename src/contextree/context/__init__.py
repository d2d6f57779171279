"""Context frames and their generation: frames, the queue, and the generation units."""
