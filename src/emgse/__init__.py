"""emgse: speech enhancement that fuses a noisy microphone signal with facial surface EMG.

Data flow: corpus -> prepared layout -> mixtures -> features -> model -> enhance -> scores -> report.
"""

__version__ = "0.1.0"
