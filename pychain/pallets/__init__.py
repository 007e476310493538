"""Pallets, one package each (see STYLE.md for the layout of a pallet)."""
