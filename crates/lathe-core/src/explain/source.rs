//! Explanations of tables named by a [`TableSource`]: read whole when they fit the memory
//! limit. Over it, with the same numbers:
//! - SHAP reads only the rows it explains and the background rows it samples (from the
//!   Parquet file, a row group at a time);
//! - LIME fits its discretizer from an external sort of each feature (quartiles, min, max)
//!   and two passes over the rows in slices (each bin's mean, then standard deviation);
//! - partial dependence takes each grid from an external sort of its feature and sums the
//!   predictions a slice of rows at a time; it keeps the ICE lines the chart draws (every
//!   ⌈n / 200⌉-th row, named in `ice_rows`), not one per row.
//!
//! - permutation importance holds, for every row, only what scikit-learn's permutations and
//!   scorers need (one permuted column, its index array, the predictions and the truth) and
//!   reads and predicts the rest a slice at a time (a feature per thread when the limit allows).

use super::{
    Dependence, ExplainInput, Explanation, Predicted, Request, Target, check_features, explain,
    importance, lime, missing_column, pdp, shap_of,
};
use crate::dataset::browse::TableSource;
use crate::dataset::stream::sorter::{self, Sorter};
use crate::dataset::stream::{MemoryLimit, ParquetTable};
use crate::job::Job;
use crate::model::{Model, feature_values_at};
use crate::{Error, Result};

/// What to explain, read from table sources within a memory limit.
#[derive(Debug, Clone)]
pub struct SourceInput<'a> {
    pub model: &'a Model,
    pub features: &'a [String],
    pub data: &'a TableSource,
    /// Where SHAP's background is sampled from (default: the data).
    pub background: Option<&'a TableSource>,
    pub limit: MemoryLimit,
}

/// Runs `request` on `input`'s tables ([`explain`] when they fit the limit).
pub fn explain_source(input: &SourceInput, request: &Request, job: &Job) -> Result<Explanation> {
    let fits = input.data.fits(input.limit)?
        && match input.background {
            Some(b) => b.fits(input.limit)?,
            None => true,
        };
    if fits {
        job.progress("reading the data", 0, None);
        let frame = input.data.frame(None)?;
        let background = input.background.map(|b| b.frame(None)).transpose()?;
        return explain(
            &ExplainInput {
                model: input.model,
                features: input.features,
                frame: &frame,
                background: background.as_ref(),
            },
            request,
            job,
        );
    }
    let features = input.features;
    let width = features.len();
    if width == 0 {
        return Err(Error::BadArgument {
            argument: "features",
            detail: "the model has no feature columns".to_owned(),
        });
    }
    let spill = input.data.spill_folder()?;
    let sliced = input.data.sliced(input.limit, &spill, job)?;
    let table = &sliced.table;
    let columns = feature_columns(table, features, "data")?;
    let n = table.rows;
    if n == 0 {
        return Err(Error::BadArgument {
            argument: "data",
            detail: "the data have no rows".to_owned(),
        });
    }
    // The model is probed with the data's first row, as in memory.
    let probe = feature_values_at(&table.read(&columns, 0, 1)?, features, 0)?;
    let probe: Vec<f32> = probe.iter().map(|&v| v as f32).collect();
    let target = Target::new(input.model, width, request.class(), &probe)?;
    let data = Sliced {
        table,
        columns: &columns,
        features,
        limit: input.limit,
        spill: &spill,
    };
    match request {
        Request::Pdp {
            features: chosen,
            grid_resolution,
            ..
        } => pdp_sliced(&target, &data, chosen.as_deref(), *grid_resolution, job),
        Request::Lime {
            samples,
            num_features,
            seed,
            ..
        } => {
            let range = request.rows(n)?;
            let bg_sliced = input
                .background
                .map(|b| b.sliced(input.limit, &spill, job))
                .transpose()?;
            let disc = match &bg_sliced {
                Some(s) => {
                    let bg_columns = feature_columns(&s.table, features, "background-data")?;
                    fit_quartiles(
                        &Sliced {
                            table: &s.table,
                            columns: &bg_columns,
                            ..data
                        },
                        job,
                    )?
                }
                None => fit_quartiles(&data, job)?,
            };
            job.progress("reading the rows to explain", 0, None);
            let x64 = feature_values_at(
                &table.read(&columns, range.start, range.len())?,
                features,
                range.start,
            )?;
            Ok(Explanation::Lime(lime::lime(
                &target,
                features,
                &x64,
                &range.collect::<Vec<_>>(),
                &disc,
                lime::LimeSettings {
                    samples: *samples,
                    num_features: *num_features,
                    seed: *seed,
                },
                job,
            )?))
        }
        Request::Shap { .. } => shap_sliced(input, request, &target, &data, job),
        Request::Permutation {
            scoring,
            repeats,
            seed,
            target: target_col,
            ..
        } => {
            let settings = importance::ImportanceSettings {
                scoring: importance::Scoring::or_default(*scoring, &target),
                repeats: *repeats,
                seed: *seed,
            };
            permutation_sliced(&target, &data, target_col, settings, job)
        }
    }
}

/// Permutation importance of a table over the limit: what scikit-learn's permutations need
/// is held for every row (the permuted column, its index array, the predictions and the
/// truth: about `48 + 16 × outputs` bytes a row, checked against the limit), the rest is read
/// and predicted a slice at a time, one feature per thread when the limit holds that many
/// states, else one after another.
fn permutation_sliced(
    target: &Target,
    data: &Sliced,
    target_col: &str,
    settings: importance::ImportanceSettings,
    job: &Job,
) -> Result<Explanation> {
    let (table, features) = (data.table, data.features);
    let n = table.rows;
    if features.iter().any(|f| f == target_col) {
        return Err(Error::BadArgument {
            argument: "target",
            detail: format!("{target_col:?} is one of the model's features"),
        });
    }
    let outputs = target.classes.as_ref().map_or(1, Vec::len);
    let threads = rayon::current_num_threads();
    let need = n.saturating_mul(48 + 16 * outputs);
    if need > data.limit.bytes() {
        return Err(Error::BadArgument {
            argument: "memory-limit",
            detail: format!(
                "permutation importance holds about {} MiB for these {n} rows (each row's permuted value, index, truth and predictions), over the memory limit of {} MiB; raise --memory-limit",
                need.div_ceil(1 << 20),
                data.limit.bytes() >> 20
            ),
        });
    }
    let Some(t) = table.names.iter().position(|c| c == target_col) else {
        let all: Vec<usize> = (0..table.names.len()).collect();
        let head = table.read(&all, 0, n.min(1))?;
        return Err(missing_column("target", target_col, &head));
    };
    job.progress("reading the target", 0, None);
    let truth = {
        let column = table.read(&[t], 0, n)?;
        let texts = crate::model::eval::target_texts(&column.columns()[0], target_col)?;
        importance::Truths::of(&texts, target_col, target)?
    };
    Ok(Explanation::Permutation(
        importance::permutation_importance(
            target,
            features,
            &SlicedRows {
                data,
                job,
                // As many features at once as there are threads when that many states (and their
                // slices) stay within half the limit, else one.
                concurrency: if need.saturating_mul(threads) <= data.limit.bytes() / 2 {
                    threads
                } else {
                    1
                },
            },
            &truth.as_truth(),
            settings,
            job,
        )?,
    ))
}

/// A table over the limit as permutation importance reads it: a column whole, the rows a
/// slice at a time.
struct SlicedRows<'a> {
    data: &'a Sliced<'a>,
    job: &'a Job<'a>,
    concurrency: usize,
}

impl importance::Permuted for SlicedRows<'_> {
    fn rows(&self) -> usize {
        self.data.table.rows
    }

    fn column(&self, j: usize) -> Result<Vec<f32>> {
        let data = self.data;
        let mut out = Vec::with_capacity(data.table.rows);
        let feature = &data.features[j..=j];
        data.table.for_each_rows(
            &data.columns[j..=j],
            data.step(),
            &self.job.cancel,
            |first, slice| {
                out.extend(
                    feature_values_at(slice, feature, first)?
                        .into_iter()
                        .map(|v| v as f32),
                );
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn predict(&self, target: &Target, replaced: Option<(usize, &[f32])>) -> Result<Predicted> {
        let width = self.data.features.len();
        let mut all = Predicted {
            values: Vec::new(),
            labels: Vec::new(),
        };
        self.data.for_each_rows(self.job, |first, x64| {
            let mut x: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
            if let Some((j, column)) = replaced {
                for (r, row) in x.chunks_mut(width).enumerate() {
                    row[j] = column[first + r];
                }
            }
            let p = target.predict_all(&x)?;
            all.values.extend(p.values);
            all.labels.extend(p.labels);
            Ok(())
        })?;
        Ok(all)
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}

/// A table over the memory limit, and what reading it needs.
#[derive(Clone, Copy)]
struct Sliced<'a> {
    table: &'a ParquetTable,
    /// The positions of `features` among its columns.
    columns: &'a [usize],
    features: &'a [String],
    limit: MemoryLimit,
    spill: &'a std::path::Path,
}

impl Sliced<'_> {
    /// Rows of features to hold at a time: the f64 and f32 copies, and the model's inputs
    /// and scratch for them, within an eighth of the limit.
    fn step(&self) -> usize {
        let row = self.features.len().max(1) * 8 * 32;
        (self.limit.bytes() / row)
            .max(1024)
            .min(self.table.rows.max(1))
    }

    /// Calls `f(first_row, values)` for consecutive slices of rows in order (values row-major,
    /// checked as in memory).
    fn for_each_rows(
        &self,
        job: &Job,
        mut f: impl FnMut(usize, &[f64]) -> Result<()>,
    ) -> Result<()> {
        self.table
            .for_each_rows(self.columns, self.step(), &job.cancel, |first, slice| {
                f(first, &feature_values_at(slice, self.features, first)?)
            })
    }

    /// Hands every value of feature `j` to `f` in sorted order (`f64::total_cmp`'s): an
    /// external sort within a quarter of the limit, spilling into the project's folder.
    fn sorted(&self, j: usize, job: &Job, mut f: impl FnMut(f64)) -> Result<()> {
        let share = self.limit.bytes() / 4;
        let mut sorter = Sorter::<u64>::new(self.spill, share / 2);
        let feature = &self.features[j..=j];
        self.table
            .for_each_slice(&self.columns[j..=j], share, &job.cancel, |first, slice| {
                for v in feature_values_at(slice, feature, first)? {
                    sorter.push(sorter::ordered(v))?;
                }
                Ok(())
            })?;
        let mut sorted = sorter.finish()?;
        while let Some(key) = sorted.next_record()? {
            f(sorter::from_ordered(key));
        }
        Ok(())
    }
}

/// lime's discretizer fitted on a table over the limit: as [`lime::Quartiles::fit`] on it.
fn fit_quartiles(data: &Sliced, job: &Job) -> Result<lime::Quartiles> {
    let (n, width) = (data.table.rows, data.features.len());
    if n == 0 {
        return Err(Error::BadArgument {
            argument: "background-data",
            detail: "the background data have no rows".to_owned(),
        });
    }
    let mut fit = lime::QuartileFit::new(n, width);
    for j in 0..width {
        job.progress("LIME: sorting the features", j as u64, Some(width as u64));
        data.sorted(j, job, |v| fit.sorted(j, v))?;
    }
    job.progress("LIME: the bins' means", 0, None);
    data.for_each_rows(job, |_, x| {
        x.chunks(width).for_each(|row| fit.sum(row));
        Ok(())
    })?;
    job.progress("LIME: the bins' deviations", 0, None);
    data.for_each_rows(job, |_, x| {
        x.chunks(width).for_each(|row| fit.deviation(row));
        Ok(())
    })?;
    Ok(fit.finish())
}

/// Partial dependence of a table over the limit: each grid from a sort of its feature, then
/// one pass over the rows for every chosen feature.
fn pdp_sliced(
    target: &Target,
    data: &Sliced,
    chosen: Option<&[String]>,
    resolution: usize,
    job: &Job,
) -> Result<Explanation> {
    let features = data.features;
    let width = features.len();
    pdp::check_resolution(resolution)?;
    let chosen = pdp::chosen_features(chosen, features)?;
    let n = data.table.rows;
    let mut accumulators = Vec::with_capacity(chosen.len());
    for (i, &j) in chosen.iter().enumerate() {
        job.progress(
            "partial dependence: grids",
            i as u64,
            Some(chosen.len() as u64),
        );
        let mut grid = pdp::Grid::new(n, resolution);
        data.sorted(j, job, |v| grid.next(v))?;
        accumulators.push(pdp::Accumulator::new(grid.finish(&features[j])?));
    }
    // The rows whose ICE lines the chart draws of the whole table.
    let every = n.div_ceil(super::chart::ICE_LINES).max(1);
    let mut done = 0u64;
    data.for_each_rows(job, |first, x64| {
        let x: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
        for (acc, &j) in accumulators.iter_mut().zip(&chosen) {
            job.cancel.check()?;
            acc.add(target, width, j, &x, first, |r| r % every == 0)?;
        }
        done += (x.len() / width) as u64;
        job.progress("partial dependence", done, Some(n as u64));
        Ok(())
    })?;
    let ice_rows: Vec<usize> = (0..n).step_by(every).collect();
    Ok(Explanation::Pdp(Dependence {
        output: target.output_spec.clone(),
        grid_resolution: resolution,
        features: accumulators
            .into_iter()
            .zip(&chosen)
            .map(|(acc, &j)| acc.finish(&features[j], Some(ice_rows.clone())))
            .collect(),
    }))
}

/// SHAP of a table over the limit: only the rows it explains and its background are read.
fn shap_sliced(
    input: &SourceInput,
    request: &Request,
    target: &Target,
    data: &Sliced,
    job: &Job,
) -> Result<Explanation> {
    let Request::Shap {
        background, seed, ..
    } = request
    else {
        unreachable!("a SHAP request")
    };
    let (table, columns, features) = (data.table, data.columns, data.features);
    let n = table.rows;
    let range = request.rows(n)?;
    if *background == 0 {
        return Err(Error::BadArgument {
            argument: "background",
            detail: "at least one background row".to_owned(),
        });
    }
    job.progress("reading the rows to explain", 0, None);
    let x64 = feature_values_at(
        &table.read(columns, range.start, range.len())?,
        features,
        range.start,
    )?;
    let bg_sliced = input
        .background
        .map(|b| b.sliced(input.limit, data.spill, job))
        .transpose()?;
    let (bg_table, bg_columns) = match &bg_sliced {
        Some(s) => (
            &s.table,
            feature_columns(&s.table, features, "background-data")?,
        ),
        None => (table, columns.to_vec()),
    };
    if bg_table.rows == 0 {
        return Err(Error::BadArgument {
            argument: "background-data",
            detail: "the background data have no rows".to_owned(),
        });
    }
    job.progress("reading the background rows", 0, None);
    let pick = crate::numeric::rng::sample_rows(bg_table.rows, *background, *seed);
    let bg64 = rows_of(bg_table, &bg_columns, features, &pick, job)?;
    shap_of(target, features, range, &x64, &bg64, request, job)
}

/// The positions of the model's features among the table's columns, checked as in memory
/// (present and numeric) on the table's first row.
fn feature_columns(
    table: &ParquetTable,
    features: &[String],
    argument: &'static str,
) -> Result<Vec<usize>> {
    let all: Vec<usize> = (0..table.names.len()).collect();
    let head = table.read(&all, 0, table.rows.min(1))?;
    check_features(&head, features, argument)?;
    features
        .iter()
        .map(|f| {
            table
                .names
                .iter()
                .position(|n| n == f)
                .ok_or_else(|| missing_column(argument, f, &head))
        })
        .collect()
}

/// The features of rows `picked` (in that order, row-major): each row group holding any is
/// read once.
fn rows_of(
    table: &ParquetTable,
    columns: &[usize],
    features: &[String],
    picked: &[usize],
    job: &Job,
) -> Result<Vec<f64>> {
    let width = features.len();
    let mut order: Vec<usize> = (0..picked.len()).collect();
    order.sort_by_key(|&i| picked[i]);
    let mut out = vec![0.0; picked.len() * width];
    let mut at = 0;
    while at < order.len() {
        job.cancel.check()?;
        // The rows of one stretch: from this row to the end of its row group.
        let first = picked[order[at]];
        let end = table.group_end(first);
        let mut last = at;
        while last + 1 < order.len() && picked[order[last + 1]] < end {
            last += 1;
        }
        let upto = picked[order[last]] + 1;
        let values =
            feature_values_at(&table.read(columns, first, upto - first)?, features, first)?;
        for &i in &order[at..=last] {
            let r = picked[i] - first;
            out[i * width..(i + 1) * width].copy_from_slice(&values[r * width..(r + 1) * width]);
        }
        at = last + 1;
    }
    Ok(out)
}
