"""Front-ends: pure functions, arrays in, arrays out.

``audio``: STFT log1p magnitude and its inverse (torch). ``emg``: TD features, context stacking,
normalization and channel sets (numpy). ``utterance``: both on one frame grid, 32 ms frames every
8 ms, so frame ``j`` of the spectrogram and of the EMG features covers the same 32 ms.
``resample``: polyphase rate conversion. Submodules are imported explicitly so that light
commands do not pay for torch.
"""

# the documented entry point (numpy/scipy only, no torch)
from emgse.features.td import td_features

__all__ = ["td_features"]
