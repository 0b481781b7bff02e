using System.Globalization;
using System.Text.RegularExpressions;

namespace ModelCaching.Tests.Documentation;

/// <summary>
/// docs/benchmarks.md quotes only what its results files hold: every number with a unit (and every number in its
/// generated tables) is a cell of docs/benchmarks/data/results (the files benchmarks/run-results.sh wrote and the
/// charts are drawn from), within the rounding the page shows; each comparison its text makes holds in them; it is
/// at most 300 lines; and the other pages quote no timings of their own. Reads the repository's files, not copies.
/// </summary>
public sealed partial class BenchmarksPageTests
{
    private static readonly string Root = RepositoryRoot.Path;
    private static readonly string Results = Path.Combine(Root, "docs", "benchmarks", "data", "results");
    private static readonly string[] ReportColumns = ["Method", "Threads", "Access", "Mean", "StdDev", "Allocated"];

    [Fact]
    public void Page_IsAtMost300Lines()
    {
        int lines = File.ReadAllLines(PagePath).Length;
        Assert.True(lines <= 300, $"docs/benchmarks.md has {lines} lines; at most 300.");
    }

    [Fact]
    public void EveryQuotedNumber_IsInTheResults()
    {
        List<Quantity> sources = SourceQuantities();
        Assert.NotEmpty(sources);

        string[] missing = [.. Unmatched(File.ReadAllText(PagePath), sources)];

        Assert.True(missing.Length == 0, "docs/benchmarks.md quotes numbers that no results file holds: " + string.Join("; ", missing));
    }

    [Fact]
    public void TheProse_QuotesNoMeasurements()
    {
        // Outside the generated blocks the page compares in words (checked below); a number with a unit there would be
        // typed by hand, and could round some cell of the results by chance.
        string prose = GeneratedBlockPattern().Replace(CodeBlockPattern().Replace(File.ReadAllText(PagePath), ""), "");

        string[] quoted = [.. QuantityPattern().Matches(prose).Where(static m => m.Groups["unit"].Success).Select(static m => m.Value)];

        Assert.True(quoted.Length == 0, "docs/benchmarks.md's text quotes measurements outside the generated tables: " + string.Join("; ", quoted));
    }

    [Fact]
    public void TheGeneratedTables_AreWhatTheChartsProgramWritesFromTheResults()
    {
        string page = File.ReadAllText(PagePath);
        var regenerated = new ModelCaching.Charts.GeneratedPage(page);

        List<string> skipped = ModelCaching.Charts.ResultTables.WriteAll(regenerated, Results);

        Assert.Empty(skipped);
        Assert.Equal(page, regenerated.Text);
    }

    [Fact]
    public void ANumberEditedByHand_IsFound()
    {
        List<Quantity> sources = SourceQuantities();
        string page = File.ReadAllText(PagePath);
        Match first = QuantityPattern().Matches(Generated(page)).First(m => m.Groups["unit"].Value == "ns");
        Quantity quoted = Quantity.Parse(first);

        // The same number one step further in its last printed digit, as a hand edit would leave it, picked so that
        // it is not by chance another cell of the results.
        string edited = Enumerable.Range(1, 50)
            .Select(step => (quoted.Value + (step * quoted.HalfStep * 2)).ToString("N" + first.Groups["fraction"].Value.Length, CultureInfo.InvariantCulture) + " ns")
            .First(text => Unmatched(text, sources).Any());
        string tampered = page.Replace(first.Value, edited, StringComparison.Ordinal);

        Assert.Contains(Unmatched(tampered, sources), problem => problem.StartsWith(edited, StringComparison.Ordinal));
    }

    [Fact]
    public void TheComparisonsInTheText_HoldInTheResults()
    {
        string page = WhitespacePattern().Replace(File.ReadAllText(PagePath), " ");
        var policy = Bdn("PolicyComparisonBenchmarks");
        var hits = Bdn("CacheHitBenchmarks");
        var prediction = Bdn("PredictionBenchmarks");
        var reload = Bdn("ReloadUnderLoad");

        Assert.Contains("its host start is slower than lazy's", page, StringComparison.Ordinal);
        Assert.True(Mean(policy, "eager: host start (loads)") > Mean(policy, "lazy: host start"));
        Assert.Contains("pays the load (slower than eager's first call)", page, StringComparison.Ordinal);
        Assert.True(Mean(policy, "lazy: first GetModel()") > Mean(policy, "eager: first GetModel()"));
        Assert.Contains("pays the load again (slower than eager's first call)", page, StringComparison.Ordinal);
        Assert.True(Mean(policy, "expiring: first GetModel() after idle unload") > Mean(policy, "eager: first GetModel()"));

        Assert.Contains("Every policy's `GetModel()` is cheaper than `MemoryCache.Get` here", page, StringComparison.Ordinal);
        foreach (string policyHit in new[] { "GetModel() lazy", "GetModel() eager", "GetModel() expiring" })
        {
            Assert.True(Mean(hits, policyHit) < Mean(hits, "MemoryCache.Get"), policyHit);
        }

        Assert.Contains("A lease costs more than a plain `GetModel()`", page, StringComparison.Ordinal);
        Assert.True(Mean(hits, "Acquire()+Dispose()") > Mean(hits, "GetModel() lazy"));

        Assert.Contains("`PredictionPool.Predict` is cheaper than the `ObjectPool` + `ConditionalWeakTable` pool", page, StringComparison.Ordinal);
        foreach (string threads in new[] { "1", "2" })
        {
            Assert.True(Mean(prediction, "PredictionPool.Predict(input)", threads) < Mean(prediction, "ObjectPool + ConditionalWeakTable (Microsoft.Extensions.ML's way)", threads), threads + " thread(s)");
        }

        Assert.Contains("No call failed during the reloads", page, StringComparison.Ordinal);
        Assert.NotEmpty(reload.Rows);
        Assert.All(reload.Rows, row => Assert.Equal("0", reload.Cell(row, "Failed")));
    }

    [Fact]
    public void EveryImage_IsUsedAndEveryUsedImageExists()
    {
        string[] pages = [Path.Combine(Root, "README.md"), .. Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")];
        string allText = string.Concat(pages.Select(File.ReadAllText));
        foreach (Match image in ImagePattern().Matches(File.ReadAllText(PagePath)))
        {
            Assert.True(File.Exists(Path.Combine(Root, "docs", "images", image.Groups[1].Value)), $"docs/benchmarks.md shows images/{image.Groups[1].Value}, which does not exist.");
        }

        foreach (string image in Directory.GetFiles(Path.Combine(Root, "docs", "images")))
        {
            Assert.True(allText.Contains("images/" + Path.GetFileName(image), StringComparison.Ordinal), $"docs/images/{Path.GetFileName(image)} is not used by any page.");
        }
    }

    [Fact]
    public void OtherPages_QuoteNoTimings()
    {
        string[] pages = [Path.Combine(Root, "README.md"), .. Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Where(static p => Path.GetFileName(p) != "benchmarks.md")];
        var found = new List<string>();
        foreach (string page in pages)
        {
            string[] lines = File.ReadAllLines(page);
            for (int i = 0; i < lines.Length; i++)
            {
                found.AddRange(TimingPattern().Matches(lines[i]).Select(m => $"{Path.GetFileName(page)}:{i + 1}: {m.Value}"));
            }
        }

        Assert.True(found.Count == 0, "Benchmark timings belong in docs/benchmarks.md (link to it instead): " + string.Join("; ", found));
    }

    [Fact]
    public void LinksIntoThePage_PointToItsHeadings()
    {
        // GitHub's anchors: the heading in lower case, without punctuation, spaces as hyphens.
        string[] anchors = [.. File.ReadAllLines(PagePath).Where(static l => l.StartsWith("#", StringComparison.Ordinal))
            .Select(static l => AnchorDropPattern().Replace(l.TrimStart('#').Trim().ToLowerInvariant(), "").Replace(' ', '-'))];
        string[] pages = [Path.Combine(Root, "README.md"), .. Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")];
        foreach (string page in pages)
        {
            foreach (Match link in AnchorLinkPattern().Matches(File.ReadAllText(page)))
            {
                Assert.True(anchors.Contains(link.Groups[1].Value), $"{Path.GetFileName(page)} links to benchmarks.md#{link.Groups[1].Value}, which is no heading of it.");
            }
        }
    }

    private static string PagePath => Path.Combine(Root, "docs", "benchmarks.md");

    /// <summary>The problems of a text: each number with a unit, and each number in a generated table cell, that matches no source.</summary>
    private static IEnumerable<string> Unmatched(string page, List<Quantity> sources)
    {
        string text = CodeBlockPattern().Replace(page, "");
        IEnumerable<Match> quoted = QuantityPattern().Matches(text).Where(static m => m.Groups["unit"].Success);
        IEnumerable<Match> cells = GeneratedCellPattern().Matches(Generated(text)).Select(static m => QuantityPattern().Match(m.Groups[1].Value));
        foreach (Match match in quoted.Concat(cells).DistinctBy(static m => m.Value))
        {
            Quantity number = Quantity.Parse(match);
            if (!sources.Any(number.Matches))
            {
                yield return $"{match.Value} (no cell of docs/benchmarks/data/results within ±{number.HalfStep.ToString(CultureInfo.InvariantCulture)} {number.Kind})";
            }
        }
    }

    /// <summary>The text inside the page's generated blocks.</summary>
    private static string Generated(string page) =>
        string.Join("\n", GeneratedBlockPattern().Matches(page).Select(static m => m.Groups[1].Value));

    /// <summary>Every number in the results folder: CSV cells (a column named …Us, …Ms, …Seconds or …Bytes is in those units) and the text files.</summary>
    private static List<Quantity> SourceQuantities()
    {
        var quantities = new List<Quantity>();
        // Not the reload harness's time series: the chart draws it, the page quotes none of its thousands of cells,
        // and among them nearly any sub-microsecond number would find a match.
        foreach (string file in Directory.GetFiles(Results, "*.csv").Where(static f => !f.EndsWith("Series.csv", StringComparison.Ordinal)))
        {
            var table = CsvFile.Read(file);
            bool report = table.Header.Contains("Mean");
            foreach (string[] row in table.Rows)
            {
                // Of a BenchmarkDotNet report, only the columns the page shows: with Error, Median, Min … as sources a
                // number typed by hand would too often find some cell it rounds.
                for (int i = 0; i < row.Length && i < table.Header.Length; i++)
                {
                    if (report && !ReportColumns.Contains(table.Header[i]))
                    {
                        continue;
                    }

                    string unit = table.Header[i].EndsWith("Us", StringComparison.Ordinal) ? " µs"
                        : table.Header[i].EndsWith("Ms", StringComparison.Ordinal) ? " ms"
                        : table.Header[i].EndsWith("Seconds", StringComparison.Ordinal) ? " s"
                        : table.Header[i].EndsWith("Bytes", StringComparison.Ordinal) ? " B" : "";
                    string cell = row[i].Trim().Trim('\'');
                    quantities.AddRange(QuantityPattern().Matches(unit.Length > 0 && QuantityPattern().Match(cell) is { Success: true, Groups: var g } && !g["unit"].Success ? cell + unit : cell).Select(Quantity.Parse));
                    if (cell == "-")
                    {
                        quantities.Add(new Quantity(0, "B", 0)); // BenchmarkDotNet writes "-" for no allocation
                    }
                }
            }
        }

        foreach (string file in Directory.GetFiles(Results, "*.txt"))
        {
            quantities.AddRange(QuantityPattern().Matches(File.ReadAllText(file)).Select(Quantity.Parse));
        }

        return quantities;
    }

    private static CsvFile Bdn(string name) => CsvFile.Read(Path.Combine(Results, name + ".csv"));

    private static double Mean(CsvFile report, string method, string? threads = null)
    {
        string[] row = Assert.Single(report.Rows, r => report.Cell(r, "Method").Trim('\'') == method && (threads is null || report.Cell(r, "Threads") == threads));
        Quantity mean = Quantity.Parse(QuantityPattern().Match(report.Cell(row, "Mean")));
        Assert.Equal("time", mean.Kind);
        return mean.Value;
    }

    // A number (thousands with commas), optional fraction, optional unit: times, sizes, or a ratio (× or x).
    [GeneratedRegex(@"(?<![\w.,])(?<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?<fraction>\d+))?(?:\s?(?<unit>ns|µs|μs|us|ms|s|B|KB|MB|GB|×|x)(?!\w)|(?!\w))")]
    private static partial Regex QuantityPattern();

    [GeneratedRegex(@"\d\s?(ns|µs|μs)(?![\w])")]
    private static partial Regex TimingPattern();

    [GeneratedRegex(@"<!-- results:[\w-]+ -->(.*?)<!-- /results -->", RegexOptions.Singleline)]
    private static partial Regex GeneratedBlockPattern();

    // A table cell that is only a number, with or without a unit.
    [GeneratedRegex(@"(?<=\|) ([\d.,]+(?: ?(?:ns|µs|μs|ms|s|B|KB|MB|×))?) (?=\|)")]
    private static partial Regex GeneratedCellPattern();

    [GeneratedRegex(@"```.*?```", RegexOptions.Singleline)]
    private static partial Regex CodeBlockPattern();

    [GeneratedRegex(@"[^\w\- ]")]
    private static partial Regex AnchorDropPattern();

    [GeneratedRegex(@"benchmarks\.md#([\w\-]+)")]
    private static partial Regex AnchorLinkPattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespacePattern();

    [GeneratedRegex(@"\]\(images/([^)]+)\)")]
    private static partial Regex ImagePattern();

    /// <summary>A number in a base unit (ns, bytes, or none), and half of its last printed digit in that unit.</summary>
    private sealed record Quantity(double Value, string Kind, double HalfStep)
    {
        public static Quantity Parse(Match match)
        {
            string fraction = match.Groups["fraction"].Value;
            double number = double.Parse(match.Groups["whole"].Value.Replace(",", "", StringComparison.Ordinal) + (fraction.Length > 0 ? "." + fraction : ""), CultureInfo.InvariantCulture);
            (double scale, string kind) = match.Groups["unit"].Value switch
            {
                "ns" => (1d, "time"),
                "µs" or "μs" or "us" => (1e3, "time"),
                "ms" => (1e6, "time"),
                "s" => (1e9, "time"),
                "B" => (1d, "B"),
                "KB" => (1024d, "B"),
                "MB" => (1024d * 1024, "B"),
                "GB" => (1024d * 1024 * 1024, "B"),
                _ => (1d, "number"),
            };
            return new Quantity(number * scale, kind, 0.5 * Math.Pow(10, -fraction.Length) * scale);
        }

        /// <summary>This quoted number rounds <paramref name="source"/> (same kind, within half a step of the last printed digit).</summary>
        public bool Matches(Quantity source) =>
            source.Kind == Kind && Math.Abs(source.Value - Value) <= (HalfStep * (1 + 1e-9)) + 1e-9;
    }

    /// <summary>
    /// A CSV file as BenchmarkDotNet and the harnesses write it: a header row, cells quoted when they hold a comma.
    /// Hand-written (a dozen lines) rather than a CSV package for the test project: the files are simple and fixed.
    /// </summary>
    private sealed class CsvFile(string[] header, List<string[]> rows)
    {
        public string[] Header { get; } = header;

        public List<string[]> Rows { get; } = rows;

        public static CsvFile Read(string path)
        {
            string[] lines = [.. File.ReadAllLines(path).Where(static l => l.Length > 0)];
            return new CsvFile(Split(lines[0]), [.. lines.Skip(1).Select(Split)]);
        }

        public string Cell(string[] row, string column) => row[Array.IndexOf(Header, column)];

        private static string[] Split(string line)
        {
            var cells = new List<string>();
            var cell = new System.Text.StringBuilder();
            bool quoted = false;
            foreach (char c in line)
            {
                if (c == '"')
                {
                    quoted = !quoted;
                }
                else if (c == ',' && !quoted)
                {
                    cells.Add(cell.ToString());
                    cell.Clear();
                }
                else
                {
                    cell.Append(c);
                }
            }

            cells.Add(cell.ToString());
            return [.. cells];
        }
    }
}
