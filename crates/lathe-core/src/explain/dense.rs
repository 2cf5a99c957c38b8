//! Black-box SHAP's fast path for feed-forward networks (MLPs, as skl2onnx exports them).
//!
//! Exact and permutation SHAP evaluate the model on rows that mix the explained row with a
//! background row, changing one feature at a time: the coalitions in Gray-code order, or a
//! permutation walked forward and back. When the model starts with an affine layer
//! (`(x − offset) · scale · W + b`), toggling feature j changes that layer's output by
//! `±(s(x_j) − s(b_j)) · W[j]`, so each step costs one row of W instead of the whole first
//! layer, and the rest of the network runs in a tight loop with no graph overhead. Computed in
//! f64; the form is used only when it reproduces the model's own output on probe rows (to
//! 1e-5), so the explained function is the model's up to its f32 rounding.

use super::Target;
use crate::model::{Activation, DenseForm};

/// The steps of a walk whose values are wanted: every one (exact and permutation SHAP), or
/// the listed ones — the number of toggles applied, ascending (Kernel SHAP's coalitions, a few
/// toggles apart). Skipped steps only update the running state.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Steps<'a> {
    All,
    At(&'a [usize]),
}

/// Reads [`Steps`] along a walk.
pub(crate) struct StepCursor<'a> {
    steps: Steps<'a>,
    next: usize,
}

impl<'a> StepCursor<'a> {
    pub(crate) fn new(steps: Steps<'a>) -> StepCursor<'a> {
        StepCursor { steps, next: 0 }
    }

    /// Values the walk will give for `toggles` toggles.
    pub(crate) fn capacity(&self, toggles: usize) -> usize {
        match self.steps {
            Steps::All => toggles + 1,
            Steps::At(at) => at.len(),
        }
    }

    /// Appends step `step`'s value to `sums` as many times as it is wanted, computing it
    /// only when it is (steps are visited in order).
    #[inline(always)]
    pub(crate) fn record(&mut self, step: usize, sums: &mut Vec<f64>, value: impl FnOnce() -> f64) {
        let want = self.take(step);
        if want > 0 {
            let v = value();
            sums.extend(std::iter::repeat_n(v, want));
        }
    }

    /// How many times step `step`'s value is wanted (steps are visited in order).
    #[inline(always)]
    pub(crate) fn take(&mut self, step: usize) -> usize {
        match self.steps {
            Steps::All => 1,
            Steps::At(at) => {
                let mut n = 0;
                while self.next < at.len() && at[self.next] == step {
                    n += 1;
                    self.next += 1;
                }
                n
            }
        }
    }
}

/// How the explained number is read off the network's last layer.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// Output `k` of the last layer.
    Value(usize),
    /// `1 −` the single sigmoid output (class 0 of a binary classifier).
    Complement,
}

#[derive(Debug)]
pub(crate) struct Dense {
    form: DenseForm,
    pick: Pick,
    width: usize,
}

/// `e^x` without branches, so that loops over rows vectorise (libm's `exp` is a call per
/// value, and was most of the time of a network's SHAP): Cody–Waite reduction by ln 2 and a
/// degree-13 Taylor polynomial on |r| ≤ ln 2 / 2 (truncation below 1e-17), scaled by 2^n
/// through the exponent bits. Within a few ulp of libm; inputs are clamped to ±708.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52: adding it rounds to an integer
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const C: [f64; 13] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
    ];
    let x = x.clamp(-708.0, 708.0);
    let t = x * std::f64::consts::LOG2_E + SHIFT;
    let n = t - SHIFT;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = C[0];
    for c in &C[1..] {
        p = p * r + c;
    }
    p = p * r + 1.0;
    // t's low mantissa bits hold n.
    let k = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    p * f64::from_bits(((k + 1023) as u64) << 52)
}

#[inline(always)]
fn activate(a: Activation, v: &mut [f64]) {
    match a {
        Activation::None => {}
        Activation::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        Activation::Tanh => v.iter_mut().for_each(|x| *x = x.tanh()),
        Activation::Sigmoid => v.iter_mut().for_each(|x| *x = 1.0 / (1.0 + exp(-*x))),
        Activation::Softmax => {
            let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            for x in v.iter_mut() {
                *x = exp(*x - m);
                s += *x;
            }
            v.iter_mut().for_each(|x| *x /= s);
        }
    }
}

impl Dense {
    /// The network form of `target`'s output, checked against the model on `probe` rows: the
    /// model's own network, or the affine map of a linear pipeline (Scaler, LinearClassifier
    /// or LinearRegressor) as a one-layer network with the link that reproduces the output
    /// (the first that does, on the probe rows).
    pub(crate) fn detect(target: &Target, probe: &[f32]) -> Option<Dense> {
        if let Some(form) = target.model.dense_form() {
            return Dense::checked(target, probe, form);
        }
        let linear = target.model.linear_form()?;
        let mut forms: Vec<DenseForm> =
            [Activation::Sigmoid, Activation::Softmax, Activation::None]
                .into_iter()
                .map(|a| linear.as_dense(a))
                .collect();
        if linear.targets == 2 {
            // scikit-learn's binary LogisticRegression exported as two scores ±m, each
            // through the logistic: the positive class's score alone.
            forms.push(linear.only(1).as_dense(Activation::Sigmoid));
        }
        forms
            .into_iter()
            .find_map(|form| Dense::checked(target, probe, form))
    }

    fn checked(target: &Target, probe: &[f32], form: DenseForm) -> Option<Dense> {
        let last = form.layers.last()?;
        let pick = match (target.class_index, target.classes.as_ref().map(Vec::len)) {
            (None, None) if last.outputs == 1 && last.activation == Activation::None => {
                Pick::Value(0)
            }
            (Some(k), Some(2)) if last.outputs == 1 && last.activation == Activation::Sigmoid => {
                if k == 1 {
                    Pick::Value(0)
                } else {
                    Pick::Complement
                }
            }
            (Some(k), Some(c)) if last.outputs == c && last.activation == Activation::Softmax => {
                Pick::Value(k)
            }
            _ => return None,
        };
        let dense = Dense {
            form,
            pick,
            width: target.width,
        };
        let actual = target.eval(probe).ok()?;
        let ok = probe
            .chunks(dense.width)
            .zip(&actual)
            .all(|(x, &y)| (dense.value(x) - y).abs() <= 1e-5 * (1.0 + y.abs()));
        ok.then_some(dense)
    }

    #[inline(always)]
    fn scaled(&self, j: usize, v: f32) -> f64 {
        (f64::from(v) - self.form.offset[j]) * self.form.scale[j]
    }

    /// The first layer's pre-activation for one row.
    #[inline(always)]
    fn first(&self, x: &[f32], h: &mut [f64]) {
        let l = &self.form.layers[0];
        h.copy_from_slice(&l.bias);
        for (j, &v) in x.iter().enumerate() {
            let s = self.scaled(j, v);
            for (o, w) in h
                .iter_mut()
                .zip(&l.weights[j * l.outputs..(j + 1) * l.outputs])
            {
                *o += s * w;
            }
        }
    }

    /// The explained number of one row.
    pub(crate) fn value(&self, x: &[f32]) -> f64 {
        let mut h = vec![0.0; self.form.layers[0].outputs];
        self.first(x, &mut h);
        self.rest_rows(&h, 1, &mut (Vec::new(), Vec::new()))
    }

    /// Starting from every feature taken from the background row, then toggling `toggles[t]`
    /// (between the background's and `x`'s value) step by step: the mean output over the
    /// background rows at the start and after each toggle (`toggles.len() + 1` values).
    ///
    /// Values are laid out unit by background row (`[unit][row]`), so every step is a few
    /// loops over the background rows that the compiler vectorises. The loops are compiled for
    /// the x86-64 baseline (SSE2) and for AVX2+FMA, and pulp runs the best the CPU has. Both do
    /// the same operations in the same order (Rust never fuses a multiply and an add by
    /// itself), so the values are the same on every machine.
    pub(crate) fn walk(&self, x: &[f32], bg: &[f32], toggles: &[usize]) -> Vec<f64> {
        self.walk_at(x, bg, toggles, Steps::All)
    }

    /// [`Dense::walk`], giving only the values of `steps`.
    pub(crate) fn walk_at(
        &self,
        x: &[f32],
        bg: &[f32],
        toggles: &[usize],
        steps: Steps,
    ) -> Vec<f64> {
        pulp::Arch::new().dispatch(Walk {
            dense: self,
            x,
            bg,
            toggles,
            steps,
        })
    }

    /// A network of one ReLU (or linear) hidden layer and one output: the common MLP
    /// classifier of two classes, and the MLP regressor.
    fn one_hidden_layer(&self) -> bool {
        let layers = &self.form.layers;
        layers.len() == 2
            && matches!(layers[0].activation, Activation::Relu | Activation::None)
            && layers[1].outputs == 1
            && layers[1].activation != Activation::Softmax
    }

    /// `d[j][b]`: how far feature j moves the first layer's input when it switches from
    /// background row b's value to x's; and the first layer's pre-activations of the
    /// background rows, `[unit][row]`. Rows are `stride` apart; rows past the background stay 0.
    #[inline(always)]
    fn start(&self, x: &[f32], bg: &[f32], stride: usize) -> (Vec<f64>, Vec<f64>) {
        let width = self.width;
        let n = self.form.layers[0].outputs;
        let mut d = vec![0.0f64; width * stride];
        for j in 0..width {
            let sx = self.scaled(j, x[j]);
            for (b, row) in bg.chunks(width).enumerate() {
                d[j * stride + b] = sx - self.scaled(j, row[j]);
            }
        }
        let mut h = vec![0.0f64; n * stride];
        let mut one = vec![0.0f64; n];
        for (b, row) in bg.chunks(width).enumerate() {
            self.first(row, &mut one);
            for k in 0..n {
                h[k * stride + b] = one[k];
            }
        }
        (d, h)
    }

    /// [`Dense::walk`] for [`Dense::one_hidden_layer`] networks: each step updates the hidden
    /// units and sums them into the output in one pass over blocks of background rows held in
    /// registers. perf on the exact-SHAP benchmark (16 ReLU units, 100 background rows): the
    /// separate update, read-back and output passes were two thirds of the time.
    #[inline(always)]
    fn walk_fused(&self, x: &[f32], bg: &[f32], toggles: &[usize], steps: Steps) -> Vec<f64> {
        const LANES: usize = 8;
        let nb = bg.len() / self.width;
        let stride = nb.div_ceil(LANES) * LANES;
        let (l0, l1) = (&self.form.layers[0], &self.form.layers[1]);
        let n = l0.outputs;
        let relu = l0.activation == Activation::Relu;
        let w2: Vec<f64> = (0..n).map(|k| l1.weights[k * l1.outputs]).collect();
        let b2 = l1.bias[0];
        let (d, mut h) = self.start(x, bg, stride);
        let mut z = vec![0.0f64; stride];
        let zeros = vec![0.0f64; stride];
        let mut w1 = vec![0.0f64; n];
        let mut on = vec![false; self.width];
        let mut cursor = StepCursor::new(steps);
        let mut sums = Vec::with_capacity(cursor.capacity(toggles.len()));
        for step in 0..=toggles.len() {
            // The first step reads the start (it adds 0 · 0); every later one toggles a feature.
            let dj = match step.checked_sub(1).map(|t| toggles[t]) {
                Some(j) => {
                    let sign = if on[j] { -1.0 } else { 1.0 };
                    on[j] = !on[j];
                    for (w, &v) in w1.iter_mut().zip(&l0.weights[j * n..(j + 1) * n]) {
                        *w = sign * v;
                    }
                    &d[j * stride..(j + 1) * stride]
                }
                None => &zeros[..],
            };
            let want = cursor.take(step);
            if want == 0 {
                // Only the update, the same operations as below.
                for (hk, &w) in h.chunks_exact_mut(stride).zip(&w1) {
                    for (v, d) in hk.iter_mut().zip(dj) {
                        *v += w * d;
                    }
                }
                continue;
            }
            for (blk, dj) in dj.as_chunks::<LANES>().0.iter().enumerate() {
                let mut acc = [b2; LANES];
                for ((hk, &w), &w2k) in h.chunks_exact_mut(stride).zip(&w1).zip(&w2) {
                    let hk = &mut hk.as_chunks_mut::<LANES>().0[blk];
                    // Whole-block steps on a local copy: the form LLVM turns into packed
                    // instructions (per-lane update and sum interleaved stayed scalar).
                    let mut v = *hk;
                    for (v, d) in v.iter_mut().zip(dj) {
                        *v += w * d;
                    }
                    *hk = v;
                    if relu {
                        v.iter_mut().for_each(|v| *v = v.max(0.0));
                    }
                    for (a, v) in acc.iter_mut().zip(&v) {
                        *a += v * w2k;
                    }
                }
                z[blk * LANES..(blk + 1) * LANES].copy_from_slice(&acc);
            }
            let out = &mut z[..nb];
            activate(l1.activation, out);
            let sum = match self.pick {
                Pick::Value(_) => out.iter().sum::<f64>(),
                Pick::Complement => out.iter().map(|v| 1.0 - v).sum(),
            };
            sums.extend(std::iter::repeat_n(sum, want));
        }
        sums.iter_mut().for_each(|s| *s /= nb as f64);
        sums
    }

    /// [`Dense::walk`] for any network: update the first layer, then run the rest.
    #[inline(always)]
    fn walk_layers(&self, x: &[f32], bg: &[f32], toggles: &[usize], steps: Steps) -> Vec<f64> {
        let width = self.width;
        let nb = bg.len() / width;
        let l0 = &self.form.layers[0];
        let n = l0.outputs;
        let (d, mut h) = self.start(x, bg, nb);
        let mut scratch = (Vec::new(), Vec::new());
        let mut cursor = StepCursor::new(steps);
        let mut sums = Vec::with_capacity(cursor.capacity(toggles.len()));
        cursor.record(0, &mut sums, || self.rest_rows(&h, nb, &mut scratch));
        let mut on = vec![false; width];
        for (t, &j) in toggles.iter().enumerate() {
            let sign = if on[j] { -1.0 } else { 1.0 };
            on[j] = !on[j];
            let dj = &d[j * nb..(j + 1) * nb];
            for (k, w) in l0.weights[j * n..(j + 1) * n].iter().enumerate() {
                let w = sign * w;
                for (hv, dv) in h[k * nb..(k + 1) * nb].iter_mut().zip(dj) {
                    *hv += w * dv;
                }
            }
            cursor.record(t + 1, &mut sums, || self.rest_rows(&h, nb, &mut scratch));
        }
        sums.iter_mut().for_each(|s| *s /= nb as f64);
        sums
    }

    /// The network from the first layer's pre-activations of `nb` rows (`[unit][row]`) on;
    /// returns the sum of the explained output over the rows.
    ///
    /// A first layer with ReLU (or no activation) is activated while the second layer reads
    /// it: no copy and no pass that writes every value back. perf on the exact-SHAP benchmark
    /// (an MLP of 16 ReLU units, 100 background rows) had that copy and pass at half the time.
    /// The arithmetic is the same, in the same order.
    #[inline(always)]
    fn rest_rows(&self, h: &[f64], nb: usize, (a, b): &mut (Vec<f64>, Vec<f64>)) -> f64 {
        let layers = &self.form.layers;
        let first = layers[0].activation;
        let fused = layers.len() > 1 && matches!(first, Activation::Relu | Activation::None);
        if !fused {
            a.clear();
            a.extend_from_slice(h);
            activate_rows(first, a, nb);
        }
        for (n, l) in layers[1..].iter().enumerate() {
            let input: &[f64] = if n == 0 && fused { h } else { a };
            let relu = n == 0 && fused && first == Activation::Relu;
            let inputs = input.len() / nb;
            b.clear();
            b.resize(l.outputs * nb, 0.0);
            for o in 0..l.outputs {
                let out = &mut b[o * nb..(o + 1) * nb];
                out.iter_mut().for_each(|v| *v = l.bias[o]);
                for i in 0..inputs {
                    let w = l.weights[i * l.outputs + o];
                    let x = &input[i * nb..(i + 1) * nb];
                    if relu {
                        for (v, x) in out.iter_mut().zip(x) {
                            *v += x.max(0.0) * w;
                        }
                    } else {
                        for (v, x) in out.iter_mut().zip(x) {
                            *v += x * w;
                        }
                    }
                }
            }
            activate_rows(l.activation, b, nb);
            std::mem::swap(a, b);
        }
        match self.pick {
            Pick::Value(k) => a[k * nb..(k + 1) * nb].iter().sum(),
            Pick::Complement => a[..nb].iter().map(|v| 1.0 - v).sum(),
        }
    }
}

/// [`Dense::walk`] as pulp runs it: `with_simd` is inlined into a function compiled for the
/// CPU's features, and everything it calls is `#[inline(always)]` so that it is compiled there
/// too (a closure was not inlined, and ran as SSE2 code in every case).
pub(crate) struct Walk<'a> {
    pub(crate) dense: &'a Dense,
    pub(crate) x: &'a [f32],
    pub(crate) bg: &'a [f32],
    pub(crate) toggles: &'a [usize],
    pub(crate) steps: Steps<'a>,
}

impl pulp::WithSimd for Walk<'_> {
    type Output = Vec<f64>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Vec<f64> {
        let Walk {
            dense,
            x,
            bg,
            toggles,
            steps,
        } = self;
        if dense.one_hidden_layer() {
            dense.walk_fused(x, bg, toggles, steps)
        } else {
            dense.walk_layers(x, bg, toggles, steps)
        }
    }
}

/// An activation over `[unit][row]` values (softmax across units, per row).
#[inline(always)]
fn activate_rows(act: Activation, v: &mut [f64], nb: usize) {
    if act != Activation::Softmax {
        return activate(act, v);
    }
    let units = v.len() / nb;
    let mut col = vec![0.0; units];
    for r in 0..nb {
        for k in 0..units {
            col[k] = v[k * nb + r];
        }
        activate(Activation::Softmax, &mut col);
        for k in 0..units {
            v[k * nb + r] = col[k];
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp_is_within_a_few_ulp_of_libm() {
        let mut worst = 0.0f64;
        let mut x = -700.0;
        while x < 700.0 {
            let (a, b) = (super::exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.0137;
        }
        assert!(worst < 1e-15, "{worst:e}");
        assert_eq!(super::exp(0.0), 1.0);
    }
}
