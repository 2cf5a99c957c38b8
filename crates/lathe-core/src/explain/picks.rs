//! The values at chosen positions of a column read in sorted order, one value at a time: what
//! exact quantiles need without holding the sorted column (an external sort streams it).

/// Positions to pick and, once seen, their values.
#[derive(Debug, Clone)]
pub struct Picks {
    wanted: Vec<(usize, Option<f64>)>,
    seen: usize,
}

impl Picks {
    pub fn new(positions: impl IntoIterator<Item = usize>) -> Picks {
        Picks {
            wanted: positions.into_iter().map(|p| (p, None)).collect(),
            seen: 0,
        }
    }

    /// The next value in sorted order.
    pub fn next(&mut self, v: f64) {
        for (at, value) in &mut self.wanted {
            if *at == self.seen {
                *value = Some(v);
            }
        }
        self.seen += 1;
    }

    /// The value at `position` (NaN when it was not asked for or not reached).
    pub fn at(&self, position: usize) -> f64 {
        self.wanted
            .iter()
            .find(|(at, _)| *at == position)
            .and_then(|(_, v)| *v)
            .unwrap_or(f64::NAN)
    }
}
