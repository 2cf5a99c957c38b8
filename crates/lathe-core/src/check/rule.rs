//! A rule of a policy: `METRIC OP NUMBER`, e.g. `roc_auc >= 0.9`, `drift_share < 0.3`.

/// A comparison of a measure with a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub metric: String,
    pub op: Op,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

impl Rule {
    /// Parses `METRIC OP NUMBER`; `names`, when not empty, are the metrics allowed.
    pub fn parse(text: &str, names: &[&str]) -> Result<Rule, String> {
        let ops = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let Some((at, token, op)) = ops
            .iter()
            .filter_map(|(t, op)| text.find(t).map(|i| (i, *t, *op)))
            .min_by_key(|(i, t, _)| (*i, std::cmp::Reverse(t.len())))
        else {
            return Err(
                "write METRIC OP NUMBER, e.g. \"roc_auc >= 0.9\" (OP: >=, >, <=, <, ==, !=)".into(),
            );
        };
        let metric = text[..at].trim();
        let number = text[at + token.len()..].trim();
        if metric.is_empty()
            || !metric
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!("\"{metric}\" is not a metric name"));
        }
        if !names.is_empty() && !names.contains(&metric) {
            return Err(format!("\"{metric}\" is not one of {}", names.join(", ")));
        }
        let value: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("\"{number}\" is not a number"))?;
        Ok(Rule {
            metric: metric.to_owned(),
            op,
            value,
        })
    }

    /// Whether `x` satisfies the rule (NaN never does).
    pub fn holds(&self, x: f64) -> bool {
        match self.op {
            Op::Ge => x >= self.value,
            Op::Gt => x > self.value,
            Op::Le => x <= self.value,
            Op::Lt => x < self.value,
            Op::Eq => x == self.value,
            Op::Ne => !x.is_nan() && x != self.value,
        }
    }

    /// The rule as written back: `roc_auc >= 0.9`.
    pub fn text(&self) -> String {
        format!("{} {} {}", self.metric, self.op.text(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_hold() {
        let r = Rule::parse("roc_auc >= 0.9", &[]).unwrap();
        assert_eq!((r.metric.as_str(), r.op, r.value), ("roc_auc", Op::Ge, 0.9));
        assert!(r.holds(0.9) && !r.holds(0.89) && !r.holds(f64::NAN));
        assert_eq!(Rule::parse("drift_share<0.3", &[]).unwrap().op, Op::Lt);
        assert_eq!(Rule::parse("x <= 1e-3", &[]).unwrap().value, 1e-3);
        assert!(Rule::parse("roc_auc 0.9", &[]).is_err());
        assert!(Rule::parse("roc auc >= 0.9", &[]).is_err());
        assert!(Rule::parse("roc_auc >= high", &[]).is_err());
        assert!(Rule::parse("tpr >= 0.8", &["demographic_parity_ratio"]).is_err());
        assert_eq!(Rule::parse("a > 2", &[]).unwrap().text(), "a > 2");
    }
}
