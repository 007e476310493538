"""Off-chain machine learning: datasets, models, training, update encoding, attacks, participant."""
