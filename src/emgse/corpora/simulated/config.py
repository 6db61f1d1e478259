"""Settings of the simulator (kept free of numpy/scipy so the CLI parser loads fast)."""

from __future__ import annotations

from dataclasses import dataclass

from emgse.errors import EmgseError

# 20 base voices (language + eSpeak variant), male and female alternating; each speaker also draws
# its own pitch range, formant scaling, breathiness and rate (writer.draw_speaker). None of them is
# a voice of the generated speech noises (mixing.py), so a target talker is never its own noise.
DEFAULT_VOICES = (
    "en-us+m3", "en-us+f2", "en+m1", "en-us+f4", "en-gb-x-rp+m2", "en+f3", "en-us+m5", "en-us+f1",
    "en-us+m7", "en-gb-x-rp+f1", "en+m4", "en+f5", "en-us+m2", "en-gb-x-rp+f4", "en+m6", "en+f1",
    "en-us+m4", "en-gb-x-rp+f2", "en-gb-x-rp+m1", "en+f2",
)  # fmt: skip
DEFAULT_SPEAKERS = 20


@dataclass(frozen=True)
class SimulationConfig:
    """Settings of ``emgse simulate`` (CLI names in parentheses)."""

    speakers: int = DEFAULT_SPEAKERS  # (--speakers)
    utterances: int = 6  # per speaker (--utterances)
    seed: int = 0  # (--seed)
    emg_snr_db: float = 10.0  # (--emg-snr-db) muscle signal over electrode noise, live channels
    mains_db: float = -15.0  # (--mains-db) mains power relative to the muscle signal
    wander: float = 1.0  # (--wander) baseline wander RMS relative to the muscle signal
    motion_rate_hz: float = 0.15  # (--motion-rate) motion spikes per second
    lead_ms: float = 60.0  # (--lead-ms) mean EMG lead over the sound, jittered per speaker
    voices: tuple[str, ...] = DEFAULT_VOICES  # (--voices) cycled over speakers
    recording: bool = True  # (--no-recording-chain turns it off) per-session level, high-pass and tilt
    min_speech_s: float = 2.0  # sentence length limits (spoken part)
    max_speech_s: float = 5.0

    def validate(self) -> None:
        if self.speakers < 1:
            raise EmgseError(f"--speakers must be at least 1 (got {self.speakers})")
        if self.utterances < 1:
            raise EmgseError(f"--utterances must be at least 1 (got {self.utterances})")
        if self.utterances > 9999:
            raise EmgseError(f"--utterances must be at most 9999 (got {self.utterances}): names have 4 digits")
        if not -30.0 <= self.emg_snr_db <= 60.0:
            raise EmgseError(f"--emg-snr-db must be between -30 and 60 dB (got {self.emg_snr_db:g})")
        if not 0.0 <= self.lead_ms <= 200.0:
            raise EmgseError(f"--lead-ms must be between 0 and 200 (got {self.lead_ms:g})")
        if self.motion_rate_hz < 0 or self.wander < 0:
            raise EmgseError("--motion-rate and --wander must not be negative")
        if not self.voices:
            raise EmgseError("--voices needs at least one voice")
        for v in self.voices:
            if not v.lower().startswith("en"):
                raise EmgseError(f"voice {v!r} is not an English eSpeak voice (the prompts are English; use en-us, en, en-gb-x-rp, ...)")
            from emgse.corpora.simulated.speech import check_voice

            check_voice(v)
