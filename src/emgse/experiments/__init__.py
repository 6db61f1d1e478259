"""Experiments, end to end: the demos (:mod:`~emgse.experiments.speaker_dependent`, the paper's
protocol and the default; :mod:`~emgse.experiments.unseen_speakers`, unseen speakers), the protocols
on real corpora (:mod:`~emgse.experiments.corpora`; real EMG: :mod:`~emgse.experiments.emg_uka`) and
the stages they share (:mod:`~emgse.experiments.stages`), which the benchmarks use too. Data flows one
way: stages <- unseen_speakers | speaker_dependent <- emg_uka | corpora.
The options each demo protocol takes: :mod:`~emgse.experiments.protocols`.
"""

from emgse.experiments.corpora import (
    SEMAMBA_EMG_PUBLISHED,
    GaddyConfig,
    PaperConfig,
    mix_and_train,
    run_gaddy_recipe,
    run_paper_recipe,
)
from emgse.experiments.emg_uka import (
    EMG_UKA_BUDGET,
    RECIPE_SYSTEMS,
    real_emg_note,
    recipe_systems,
    run_emg_uka_recipe,
)
from emgse.experiments.protocols import (
    DEMO_PROTOCOLS,
    UNSEEN_ONLY,
    check_demo_options,
    split_speaker_session,
)
from emgse.experiments.speaker_dependent import (
    PRETRAINED_FAMILY,
    SESSION_DEMO_SYSTEMS,
    SESSION_INTERMEDIATE,
    SessionConfig,
    build_session,
    run_session_demo,
    session_noises,
    session_trained,
    train_session_system,
)
from emgse.experiments.stages import (
    EMG_ALONE,
    FREE_SETTINGS,
    PAPER_SYSTEMS,
    REMOVED_FILE,
    SIMULATED_NOTE,
    System,
    announce_data,
    check_finished_run,
    elapsed,
    enhance_score_report,
    enhance_system,
    finish_demo,
    flat_settings,
    log,
    paper_test_bank,
    real_speech_systems,
    record_settings,
    remove_intermediates,
    removed_intermediates,
    run_once,
    stage,
    train_system,
    voice_system,
)
from emgse.experiments.unseen_speakers import (
    DEMO_FAMILIES,
    DEMO_INTERMEDIATE,
    RECORDED_PREFIX,
    DemoConfig,
    add_recorded_speech,
    demo_systems,
    run_demo,
)

__all__ = ['DEMO_FAMILIES', 'DEMO_PROTOCOLS', 'UNSEEN_ONLY', 'check_demo_options', 'split_speaker_session', 'EMG_UKA_BUDGET', 'RECIPE_SYSTEMS', 'real_emg_note', 'recipe_systems', 'run_emg_uka_recipe', 'DEMO_INTERMEDIATE', 'DemoConfig', 'EMG_ALONE', 'FREE_SETTINGS', 'GaddyConfig', 'PAPER_SYSTEMS', 'PRETRAINED_FAMILY', 'PaperConfig', 'RECORDED_PREFIX', 'REMOVED_FILE', 'SEMAMBA_EMG_PUBLISHED', 'SESSION_DEMO_SYSTEMS', 'SESSION_INTERMEDIATE', 'SIMULATED_NOTE', 'SessionConfig', 'System', 'announce_data', 'add_recorded_speech', 'build_session', 'check_finished_run', 'demo_systems', 'elapsed', 'enhance_score_report', 'enhance_system', 'finish_demo', 'flat_settings', 'log', 'mix_and_train', 'paper_test_bank', 'real_speech_systems', 'record_settings', 'remove_intermediates', 'removed_intermediates', 'run_demo', 'run_gaddy_recipe', 'run_once', 'run_paper_recipe', 'run_session_demo', 'session_noises', 'session_trained', 'stage', 'train_session_system', 'train_system', 'voice_system']
