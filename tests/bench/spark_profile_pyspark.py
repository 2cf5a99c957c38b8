"""The peer of `lathe dataset show sc://…` in tests/bench/spark_profile.sh: the same statistics
computed by a pyspark (Spark Connect) client on the same server, the way the issue names it —
DataFrame.summary() + approxQuantile + corr — plus what the profile also reports: skewness,
distinct and most frequent values, histograms, duplicate rows. Prints each stage's time.

    python spark_profile_pyspark.py sc://HOST:PORT PARQUET [--corr pairwise|batched]

--corr pairwise calls DataFrame.corr(a, b) for every pair (pyspark's API: one job a pair);
--corr batched computes every pair in one aggregate (the strongest script one could write).
"""

import argparse
import itertools
import time

from pyspark.sql import SparkSession, functions as F
from pyspark.sql.types import NumericType


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("parquet")
    parser.add_argument("--corr", choices=["pairwise", "batched"], default="pairwise")
    args = parser.parse_args()
    spark = SparkSession.builder.remote(args.url).getOrCreate()
    df = spark.read.parquet(args.parquet)
    numeric = [f.name for f in df.schema.fields if isinstance(f.dataType, NumericType)]
    stages = {}
    start = time.perf_counter()

    def stage(name, t0):
        stages[name] = time.perf_counter() - t0
        return time.perf_counter()

    t = time.perf_counter()
    summary = df.summary("count", "mean", "stddev", "min", "max").collect()
    t = stage("summary", t)
    quantiles = df.approxQuantile(numeric, [0.05, 0.25, 0.5, 0.75, 0.95], 1e-4)
    t = stage("approxQuantile", t)
    skew = df.agg(*[F.skewness(c).alias(c) for c in numeric]).collect()
    t = stage("skewness", t)
    pairs = list(itertools.combinations(numeric, 2))
    if args.corr == "pairwise":
        corr = [df.corr(a, b) for a, b in pairs]
    else:
        corr = df.agg(*[F.corr(a, b) for a, b in pairs]).collect()
    t = stage(f"corr ({args.corr}, {len(pairs)} pairs)", t)
    tops = {}
    for c in df.columns:
        counts = df.where(F.col(c).isNotNull()).groupBy(c).count()
        tops[c] = (counts.count(), counts.orderBy(F.desc("count")).limit(10).collect())
    t = stage("distinct and top values", t)
    extremes = {row["summary"]: row for row in summary}
    for c in numeric:
        lo, hi = float(extremes["min"][c]), float(extremes["max"][c])
        width = (hi - lo) / 20 or 1.0
        bins = F.least(F.floor((F.col(c) - lo) / width), F.lit(19))
        df.where(F.col(c).isNotNull()).groupBy(bins.alias("bin")).count().collect()
    t = stage("histograms", t)
    duplicates = df.count() - df.dropDuplicates().count()
    t = stage("duplicate rows", t)
    total = time.perf_counter() - start
    for name, secs in stages.items():
        print(f"  pyspark {name}: {secs:.1f} s")
    print(f"pyspark total {total:.1f} s ({len(df.columns)} columns, {len(quantiles)} quantile rows, {duplicates} duplicate rows)")
    spark.stop()


if __name__ == "__main__":
    main()
