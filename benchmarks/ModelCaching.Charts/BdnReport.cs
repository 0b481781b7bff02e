using System.Globalization;

namespace ModelCaching.Charts;

/// <summary>One row of a BenchmarkDotNet CSV report: the benchmark's description, its parameters, and its measurements.</summary>
internal sealed record BdnRow(string Method, string Category, IReadOnlyDictionary<string, string> Parameters, double MeanNs, double StdDevNs, double AllocatedBytes)
{
    public string Parameter(string name) => Parameters.TryGetValue(name, out string? value) ? value : "";
}

/// <summary>
/// A BenchmarkDotNet CSV report (<c>--exporters csv</c>, <c>*-report.csv</c>), copied to the results folder as
/// <c>ClassName.csv</c> by benchmarks/run-results.sh.
/// </summary>
internal sealed class BdnReport
{
    private BdnReport(string name, List<BdnRow> rows)
    {
        Name = name;
        Rows = rows;
    }

    public string Name { get; }

    public IReadOnlyList<BdnRow> Rows { get; }

    public static BdnReport? TryRead(string folder, string name, params string[] parameters)
    {
        CsvTable? table = CsvTable.TryRead(Path.Combine(folder, name + ".csv"));
        if (table is null)
        {
            return null;
        }

        var rows = new List<BdnRow>();
        foreach (string[] row in table.Rows)
        {
            var values = parameters.Where(table.Has).ToDictionary(static p => p, p => table.Text(row, p), StringComparer.Ordinal);
            rows.Add(new BdnRow(
                table.Text(row, "Method").Trim('\''),
                table.Has("Categories") ? table.Text(row, "Categories") : "",
                values,
                table.Number(row, "Mean"),
                table.Number(row, "StdDev"),
                table.Has("Allocated") ? table.Number(row, "Allocated") : double.NaN));
        }

        return new BdnReport(name, rows);
    }

    /// <summary>The row whose description is <paramref name="method"/> (and whose parameter has the given value).</summary>
    public BdnRow? Find(string method, string? parameter = null, string? value = null) =>
        Rows.FirstOrDefault(r => r.Method == method && (parameter is null || r.Parameter(parameter) == value));

    public string[] Distinct(string parameter) => [.. Rows.Select(r => r.Parameter(parameter)).Distinct()];
}

/// <summary>How the page writes numbers: three significant digits in the unit that suits them (the test reads them back).</summary>
internal static class Format
{
    public static string Time(double ns)
    {
        if (double.IsNaN(ns))
        {
            return "–";
        }

        (double value, string unit) = Math.Abs(ns) switch
        {
            < 1e3 => (ns, "ns"),
            < 1e6 => (ns / 1e3, "µs"),
            < 1e9 => (ns / 1e6, "ms"),
            _ => (ns / 1e9, "s"),
        };
        return Significant(value) + " " + unit;
    }

    /// <summary>A ratio of two measurements, two decimals: "0.97×".</summary>
    public static string Ratio(double ratio) => double.IsNaN(ratio) ? "–" : ratio.ToString("0.00", CultureInfo.InvariantCulture) + "×";

    public static string YesNo(bool value) => value ? "yes" : "no";

    public static string Bytes(double bytes) =>
        double.IsNaN(bytes) ? "–" : bytes < 1024 ? bytes.ToString("0", CultureInfo.InvariantCulture) + " B" : Significant(bytes / 1024) + " KB";

    public static string Count(string cell)
    {
        double value = CsvTable.Parse(cell);
        return double.IsNaN(value) ? "–" : value.ToString("#,0", CultureInfo.InvariantCulture);
    }

    private static string Significant(double value) => Math.Abs(value) switch
    {
        >= 100 => value.ToString("#,0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };
}
