"""Scoring: per-mixture scores (:mod:`~emgse.scoring.scores`, written as :mod:`~emgse.scoring.rows`),
their summaries and tables (:mod:`~emgse.scoring.summaries`), fusion gains with intervals
(:mod:`~emgse.scoring.gains`), real recorded pairs (:mod:`~emgse.scoring.pairs`, the report section
:mod:`~emgse.scoring.real_speech`) and the targets they are judged against (:mod:`~emgse.scoring.targets`).
The oracle ceilings on the noisy phase (:mod:`~emgse.scoring.oracle`, imported from there) give the
benchmarks' "gap closed" its top.
The options each mode of ``emgse evaluate`` takes: :mod:`~emgse.scoring.modes`.

Data flows one way: rows <- scores -> summaries -> gains / pairs -> targets -> real_speech.
"""

from emgse.scoring.gains import (
    EMG_ALONE,
    FUSION_PAIRS,
    GAIN_METRICS,
    category_gain_table,
    emg_alone_levels,
    emg_alone_means,
    fusion_gain_table,
    paired_gains,
    present_pairs,
    systems_of,
)
from emgse.scoring.modes import EVALUATE_MODES, check_evaluate_options
from emgse.scoring.pairs import (
    EVALUATION_PAIRS,
    PAIR_COLUMNS,
    PAIR_SUMMARY_COLUMNS,
    WORSE_ESTOI,
    Pair,
    evaluate_pairs,
    is_evaluation_pairs,
    pairs_table,
    read_pairs,
    summarize_pairs,
    system_names,
)
from emgse.scoring.real_speech import (
    REAL_PAIRS,
    REAL_SPEECH_TITLE,
    find_real_pairs,
    real_speech_section,
)
from emgse.scoring.rows import (
    DNSMOS_COLUMNS,
    METRIC_LABELS,
    NOISY,
    SCORE_COLUMNS,
    csv_text,
    fmt,
    metrics_of,
    read_scores,
    score_columns,
    write_scores,
)
from emgse.scoring.scores import evaluate, find_systems, init_worker, single_blas_thread
from emgse.scoring.summaries import (
    GROUPINGS,
    Table,
    format_score,
    ordered,
    summarize,
    summary_columns,
    summary_markdown,
    summary_tables,
    write_summaries,
)
from emgse.scoring.targets import HELPS_REAL_SPEECH, NO_HARM, PRETRAINED_TARGET, PairsTarget

__all__ = ['DNSMOS_COLUMNS', 'EMG_ALONE', 'EVALUATE_MODES', 'EVALUATION_PAIRS', 'FUSION_PAIRS', 'GAIN_METRICS', 'GROUPINGS', 'HELPS_REAL_SPEECH', 'METRIC_LABELS', 'NOISY', 'NO_HARM', 'PAIR_COLUMNS', 'PAIR_SUMMARY_COLUMNS', 'PRETRAINED_TARGET', 'Pair', 'PairsTarget', 'REAL_PAIRS', 'REAL_SPEECH_TITLE', 'SCORE_COLUMNS', 'Table', 'WORSE_ESTOI', 'category_gain_table', 'check_evaluate_options', 'csv_text', 'emg_alone_levels', 'emg_alone_means', 'evaluate', 'evaluate_pairs', 'find_real_pairs', 'find_systems', 'fmt', 'format_score', 'fusion_gain_table', 'init_worker', 'is_evaluation_pairs', 'metrics_of', 'ordered', 'paired_gains', 'pairs_table', 'present_pairs', 'read_pairs', 'read_scores', 'real_speech_section', 'score_columns', 'single_blas_thread', 'summarize', 'summarize_pairs', 'summary_columns', 'summary_markdown', 'summary_tables', 'system_names', 'systems_of', 'write_scores', 'write_summaries']
