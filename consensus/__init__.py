"""Consensus: Aura-style slot authoring and GRANDPA finality (pure round logic + async voter)."""
