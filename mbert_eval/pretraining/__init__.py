"""Pretraining encoders from scratch or from a checkpoint: the loop (`loop`: PretrainConfig, pretrain), the
objectives (`objectives`: masked LM, translation LM) and tokenizer training (`tokenizer`: WordPiece as mBERT,
Unigram as XLM-R)."""
