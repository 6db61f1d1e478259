"""Simulated parallel speech + facial-EMG corpus written in the CSL-EMG_Array layout."""
