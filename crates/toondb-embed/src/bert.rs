//! A BERT-family encoder (the architecture of all-MiniLM-L6-v2 and most sentence-transformer
//! models), written against candle's tensor operations so that every step matches Hugging Face's
//! `BertModel` in eval mode: embeddings (word + absolute position + token type 0) and LayerNorm,
//! then per layer self-attention with an additive padding mask, residual + LayerNorm, GELU
//! feed-forward, residual + LayerNorm.

use std::path::Path;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};

use crate::error::{EmbedError, Result};

/// The fields of a Hugging Face `config.json` the encoder needs.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// Vocabulary size (rows of the word-embedding table).
    pub vocab_size: usize,
    /// Width of every hidden state (the embedding dimension).
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Length of the position-embedding table.
    pub max_position_embeddings: usize,
    /// Rows of the token-type table.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Activation of the feed-forward layer.
    pub hidden_act: Activation,
}

/// Feed-forward activations supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU (`"gelu"`), `x * Phi(x)` with the error function.
    GeluErf,
    /// The tanh approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`).
    GeluTanh,
    /// `"relu"`.
    Relu,
}

fn cfg_usize(v: &serde_json::Value, key: &str, path: &Path) -> Result<usize> {
    v.get(key)
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| EmbedError::ModelFile {
            path: path.to_path_buf(),
            reason: format!("`{key}` is missing or not a positive integer"),
        })
}

impl BertConfig {
    /// Parses `config.json`, rejecting architectures this encoder does not implement.
    pub fn from_json(text: &str, path: &Path) -> Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| EmbedError::ModelFile {
                path: path.to_path_buf(),
                reason: format!("not valid JSON: {e}"),
            })?;
        if let Some(mt) = v.get("model_type").and_then(|m| m.as_str()) {
            if mt != "bert" {
                return Err(EmbedError::Unsupported(format!(
                    "model_type `{mt}` (only BERT-family encoders, model_type `bert`, are supported)"
                )));
            }
        }
        if let Some(pe) = v.get("position_embedding_type").and_then(|m| m.as_str()) {
            if pe != "absolute" {
                return Err(EmbedError::Unsupported(format!(
                    "position_embedding_type `{pe}` (only `absolute`)"
                )));
            }
        }
        let hidden_act = match v
            .get("hidden_act")
            .and_then(|a| a.as_str())
            .unwrap_or("gelu")
        {
            "gelu" => Activation::GeluErf,
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => {
                return Err(EmbedError::Unsupported(format!("hidden_act `{other}`")));
            }
        };
        let cfg = BertConfig {
            vocab_size: cfg_usize(&v, "vocab_size", path)?,
            hidden_size: cfg_usize(&v, "hidden_size", path)?,
            num_hidden_layers: cfg_usize(&v, "num_hidden_layers", path)?,
            num_attention_heads: cfg_usize(&v, "num_attention_heads", path)?,
            intermediate_size: cfg_usize(&v, "intermediate_size", path)?,
            max_position_embeddings: cfg_usize(&v, "max_position_embeddings", path)?,
            type_vocab_size: cfg_usize(&v, "type_vocab_size", path)?,
            layer_norm_eps: v
                .get("layer_norm_eps")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(1e-12),
            hidden_act,
        };
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err(EmbedError::ModelFile {
                path: path.to_path_buf(),
                reason: format!(
                    "hidden_size {} is not a multiple of num_attention_heads {}",
                    cfg.hidden_size, cfg.num_attention_heads
                ),
            });
        }
        Ok(cfg)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    inter: Linear,
    out: Linear,
    out_norm: LayerNorm,
}

/// The encoder with its weights loaded.
pub struct Bert {
    word: Embedding,
    position: Embedding,
    token_type0: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    act: Activation,
    device: Device,
    /// The configuration the weights were loaded with.
    pub config: BertConfig,
}

/// `x @ W^T + b` for `x` of shape `(batch, seq, in)`, run as ONE `(batch*seq, in)` matrix
/// product (candle's `Linear` on 3-D input runs `batch` small products instead, which is several
/// times slower for short sentences).
fn linear3(l: &Linear, x: &Tensor) -> candle_core::Result<Tensor> {
    let (b, t, i) = x.dims3()?;
    let y = x.reshape((b * t, i))?.matmul(&l.weight().t()?)?;
    let y = match l.bias() {
        Some(bias) => y.broadcast_add(bias)?,
        None => y,
    };
    let o = y.dim(1)?;
    y.reshape((b, t, o))
}

fn layer_norm(size: usize, eps: f64, vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    candle_nn::layer_norm(size, eps, vb)
}

impl Bert {
    /// Loads the weights from a safetensors buffer. Tensor names may carry a `bert.` prefix
    /// (checkpoints saved from `BertForMaskedLM` and the like) or not (sentence-transformers).
    pub fn load(weights: Vec<u8>, config: BertConfig, path: &Path) -> Result<Self> {
        let device = Device::Cpu;
        let bad = |e: candle_core::Error| EmbedError::ModelFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let vb =
            VarBuilder::from_buffered_safetensors(weights, DType::F32, &device).map_err(bad)?;
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            return Err(EmbedError::ModelFile {
                path: path.to_path_buf(),
                reason: "no tensor `embeddings.word_embeddings.weight`: not a BERT checkpoint"
                    .into(),
            });
        };
        let c = &config;
        let h = c.hidden_size;
        let e = vb.pp("embeddings");
        let word = candle_nn::embedding(c.vocab_size, h, e.pp("word_embeddings")).map_err(bad)?;
        let position =
            candle_nn::embedding(c.max_position_embeddings, h, e.pp("position_embeddings"))
                .map_err(bad)?;
        let token_type = e
            .pp("token_type_embeddings")
            .get((c.type_vocab_size, h), "weight")
            .map_err(bad)?;
        let token_type0 = token_type.get(0).map_err(bad)?;
        let emb_norm = layer_norm(h, c.layer_norm_eps, e.pp("LayerNorm")).map_err(bad)?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            let s = a.pp("self");
            layers.push(Layer {
                query: candle_nn::linear(h, h, s.pp("query")).map_err(bad)?,
                key: candle_nn::linear(h, h, s.pp("key")).map_err(bad)?,
                value: candle_nn::linear(h, h, s.pp("value")).map_err(bad)?,
                attn_out: candle_nn::linear(h, h, a.pp("output.dense")).map_err(bad)?,
                attn_norm: layer_norm(h, c.layer_norm_eps, a.pp("output.LayerNorm"))
                    .map_err(bad)?,
                inter: candle_nn::linear(h, c.intermediate_size, l.pp("intermediate.dense"))
                    .map_err(bad)?,
                out: candle_nn::linear(c.intermediate_size, h, l.pp("output.dense"))
                    .map_err(bad)?,
                out_norm: layer_norm(h, c.layer_norm_eps, l.pp("output.LayerNorm")).map_err(bad)?,
            });
        }
        Ok(Bert {
            word,
            position,
            token_type0,
            emb_norm,
            layers,
            heads: c.num_attention_heads,
            head_dim: h / c.num_attention_heads,
            act: c.hidden_act,
            device,
            config,
        })
    }

    /// Runs the encoder on a padded batch and mean-pools (or CLS-pools) the last hidden state.
    /// `ids` holds `batch * seq` token ids, `mask` 1 for real tokens and 0 for padding. Returns
    /// `batch` unnormalised sentence vectors, row-major.
    pub fn encode(
        &self,
        ids: &[u32],
        mask: &[u32],
        batch: usize,
        seq: usize,
        pooling: crate::Pooling,
    ) -> Result<Vec<f32>> {
        let dev = &self.device;
        let ids = Tensor::from_slice(ids, (batch, seq), dev)?;
        let maskf: Vec<f32> = mask.iter().map(|&m| m as f32).collect();
        let mask = Tensor::from_vec(maskf, (batch, seq), dev)?;
        let pos = Tensor::arange(0u32, seq as u32, dev)?;
        let x = self
            .word
            .forward(&ids)?
            .broadcast_add(&self.position.forward(&pos)?)?
            .broadcast_add(&self.token_type0)?;
        let mut x = self.emb_norm.forward(&x)?;
        // Additive attention bias: 0 for real tokens, a large negative number for padding.
        let bias = ((1.0 - &mask)? * -1e9f64)?.reshape((batch, 1, 1, seq))?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let (h, hd) = (self.heads, self.head_dim);
        let hidden = h * hd;
        for l in &self.layers {
            let split = |t: Tensor| -> candle_core::Result<Tensor> {
                t.reshape((batch, seq, h, hd))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = split(linear3(&l.query, &x)?)?;
            let k = split(linear3(&l.key, &x)?)?;
            let v = split(linear3(&l.value, &x)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((batch, seq, hidden))?;
            x = l.attn_norm.forward(&(linear3(&l.attn_out, &ctx)? + &x)?)?;
            let inter = linear3(&l.inter, &x)?;
            let inter = match self.act {
                Activation::GeluErf => inter.gelu_erf()?,
                Activation::GeluTanh => inter.gelu()?,
                Activation::Relu => inter.relu()?,
            };
            x = l.out_norm.forward(&(linear3(&l.out, &inter)? + &x)?)?;
        }
        let pooled = match pooling {
            crate::Pooling::Mean => {
                let m = mask.unsqueeze(2)?;
                let summed = x.broadcast_mul(&m)?.sum(1)?;
                let counts = mask.sum_keepdim(1)?.clamp(1e-9f64, f64::MAX)?;
                summed.broadcast_div(&counts)?
            }
            crate::Pooling::Cls => x.narrow(1, 0, 1)?.squeeze(1)?,
        };
        Ok(pooled.flatten_all()?.to_vec1::<f32>()?)
    }
}
