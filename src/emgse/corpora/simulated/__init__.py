"""Simulated parallel speech + facial-EMG corpus written in the CSL-EMG_Array layout.

Modules, in data-flow order: ``sentences`` (prompts) -> ``speech`` (eSpeak NG, phoneme timings)
-> ``articulation`` (phoneme -> muscle activations) -> ``emg`` (40-channel surface EMG with
artifacts) -> ``writer`` (files); ``check`` measures a written corpus; ``cli`` is
``emgse simulate``. Entry points: :func:`emgse.corpora.simulated.writer.simulate_corpus` and
:func:`emgse.corpora.simulated.check.check_corpus`.
"""
