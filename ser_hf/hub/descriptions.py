"""What each functionals set of ``SERFunctionalsFeatureExtractor`` computes, in words, for the model cards."""

FUNCTIONALS_DESCRIPTIONS = {
    "speech-stats": "7 statistics of 64 log-mel bands over the speech frames only",
    "speech-stats-pitch": "7 statistics of 64 log-mel bands over the speech frames only, plus 5 statistics of "
    "the pitch in semitones around the clip's own median",
    "speech-stats-plus": "7 statistics of 64 log-mel bands over the speech frames only, 5 statistics of the "
    "pitch in semitones around the clip's own median, and 9 statistics of 64 log-mels, 40 MFCCs with deltas, "
    "RMS, ZCR over the whole clip and 7 of its log-F0",
    "speech-stats-mfcc": "7 statistics of 64 log-mel bands over the speech frames only, 5 statistics of the "
    "pitch in semitones around the clip's own median, 9 statistics of 40 MFCCs with deltas and delta-deltas, "
    "RMS and ZCR over the whole clip, and 7 of its log-F0",
    "speech-stats-mfcc-speech": "7 statistics of 64 log-mel bands over the speech frames only, 5 statistics of "
    "the pitch in semitones around the clip's own median, 9 statistics of 40 MFCCs with deltas and "
    "delta-deltas, RMS and ZCR over the same speech frames, and 7 of its log-F0",
    "voice-encoder": "the mean and standard deviation over the clip's frames of each of the three LSTM layers of "
    "a pretrained speaker encoder (Resemblyzer's, Apache-2.0; 40-band mel frames, 1.6-s windows) and its "
    "averaged embedding",
    "voice-encoder-2": "the mean and standard deviation over the clip's frames of the first two LSTM layers of a "
    "pretrained speaker encoder (Resemblyzer's, Apache-2.0; 40-band mel frames, 1.6-s windows)",
    "voice-encoder-2-range": "the mean, standard deviation, 10th and 90th percentiles over the clip's frames of "
    "the first two LSTM layers of a pretrained speaker encoder (Resemblyzer's, Apache-2.0; 40-band mel frames, "
    "1.6-s windows)",
    "speech-stats-mfcc-speech-encoder": "the speech-stats-mfcc-speech statistics and the pooled states of a "
    "pretrained speaker encoder (Resemblyzer's, Apache-2.0)",
    "turn-encoder": "the mean and standard deviation over the clip's positions of each of the four transformer "
    "layers of a pretrained speech encoder fine-tuned on intonation (smart-turn v3.2's Whisper-tiny encoder: "
    "Daily, BSD-2-Clause; OpenAI, MIT; 80-band Whisper log-mels, int8 linear layers)",
    "turn-encoder-2": "the mean and standard deviation over the clip's positions of the first two transformer "
    "layers of a pretrained speech encoder fine-tuned on intonation (smart-turn v3.2's Whisper-tiny encoder: "
    "Daily, BSD-2-Clause; OpenAI, MIT; 80-band Whisper log-mels, int8 linear layers)",
    "turn-encoder-2-nopos": "turn-encoder-2 with the position vectors the encoder adds to its states taken out "
    "before pooling (their mean over a clip's positions depends only on how long the clip is)",
    "voice-turn-encoder": "the voice-encoder-2 pooled states (Resemblyzer's, Apache-2.0) beside the turn-encoder "
    "pooled states (smart-turn v3.2's Whisper-tiny encoder: Daily, BSD-2-Clause; OpenAI, MIT)",
    "voice-turn-encoder-2": "the voice-encoder-2 pooled states (Resemblyzer's, Apache-2.0) beside the first two "
    "layers' turn-encoder pooled states (smart-turn v3.2's Whisper-tiny encoder: Daily, BSD-2-Clause; OpenAI, MIT)",
    "ours": "statistics of 64 log-mels, 40 MFCCs with deltas, RMS, ZCR and log-F0",
    # read on the Hub, where the model runs as remote code beside transformers: openSMILE is all it adds
    "compare": "openSMILE ComParE 2016; needs `pip install opensmile`, research licence",
    "compare+ours": "openSMILE ComParE 2016 and our log-mel / MFCC / F0 statistics; needs "
    "`pip install opensmile`, research licence",
}
