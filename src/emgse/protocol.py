"""The paper's protocol (Wang et al., "EMGSE", ICASSP 2022): the numbers every experiment, corpus
reader and help text shares, written once.

Plain constants, no imports, so any module (and a help text) can use them.
"""

# the test SNRs (dB): every test mixture of the paper, and of emgse's demos and recipes
TEST_SNRS_DB = (-11.0, -6.0, -1.0, 4.0)
# the training SNRs (dB) of the fixed training mixtures (emgse recipe paper / gaddy)
TRAIN_SNRS_DB = (-10.0, -5.0, 0.0, 5.0, 10.0)
# the same span as a range, for mixtures drawn on the fly (uniform in it; emgse demo)
TRAIN_SNR_RANGE_DB = (-10.0, 10.0)

# the EMG rate of the prepared layout (Hz): the paper's, where its 8 ms hop is 16 whole samples
PREPARED_EMG_FS = 2000
# CSL-EMG_Array's recording rate (Hz), which the simulated corpus writes too; prepared at PREPARED_EMG_FS
CSL_EMG_FS = 2048

# the split of each CSL-EMG_Array session by utterance number: 1-20 test, 21-26 validation, the rest
# (27-100) training -- the speaker-dependent protocol of the paper (emgse demo)
SESSION_TEST_UTTERANCES = 20
SESSION_VAL_UTTERANCES = 6


def snr_list(snrs: tuple[float, ...] = TEST_SNRS_DB) -> str:
    """SNRs as a help text writes them: ``(-11.0, -6.0, -1.0, 4.0)`` -> ``"-11, -6, -1, 4"``."""
    return ", ".join(f"{s:g}" for s in snrs)
