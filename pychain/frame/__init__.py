"""FRAME-like runtime framework: pallets, storage descriptors, dispatch, events, executive."""
