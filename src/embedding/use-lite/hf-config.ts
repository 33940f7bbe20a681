import { UseLiteParams } from './model-params';

export function modelConfig(p: UseLiteParams, vocabSize: number): object {
  const first = p.layers[0];
  return {
    _name_or_path: 'google/use-lite',
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_size: p.tanh.outDim,
    num_hidden_layers: p.layers.length,
    num_attention_heads: first.heads,
    intermediate_size: first.conv1.outDim,
    hidden_act: 'relu',
    layer_norm_eps: 0.000001,
    max_position_embeddings: p.maxLen,
    vocab_size: vocabSize,
    type_vocab_size: 1,
    pad_token_id: 0,
    use_lite_note:
      'Universal Sentence Encoder Lite re-implemented in ONNX. model_type "bert" only selects the plain encoder session in transformers.js (inputs input_ids + attention_mask). Every position of last_hidden_state holds the final l2-normalised sentence embedding (also output as sentence_embedding); use pooling "mean" + normalize.',
  };
}
