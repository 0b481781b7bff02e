using System.Globalization;

namespace ModelCaching.Charts;

/// <summary>
/// A CSV file as written by BenchmarkDotNet's CSV exporter or by the benchmark harnesses: a header row and quoted or
/// plain cells. Reads measurements with their units ("1,234.5 ns", "24 B", "3.2 KB") into plain numbers.
/// </summary>
internal sealed class CsvTable
{
    private readonly Dictionary<string, int> _columns;

    private CsvTable(string path, string[] header, List<string[]> rows)
    {
        Path = path;
        _columns = header.Select((name, index) => (name, index)).ToDictionary(static c => c.name, static c => c.index, StringComparer.Ordinal);
        Rows = rows;
    }

    public string Path { get; }

    public IReadOnlyList<string[]> Rows { get; }

    public static CsvTable? TryRead(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        string[] lines = [.. File.ReadAllLines(path).Where(static l => l.Length > 0)];
        char separator = lines[0].Contains(';') && !lines[0].Contains(',') ? ';' : ',';
        return new CsvTable(path, Split(lines[0], separator), [.. lines.Skip(1).Select(l => Split(l, separator))]);
    }

    public bool Has(string column) => _columns.ContainsKey(column);

    public string Text(string[] row, string column) =>
        _columns.TryGetValue(column, out int index) ? row[index] : throw new InvalidDataException($"{Path}: no column '{column}' (columns: {string.Join(", ", _columns.Keys)}).");

    /// <summary>A time in nanoseconds, a size in bytes, or a plain number; NaN when the cell is empty or "-" / "NA".</summary>
    public double Number(string[] row, string column) => Parse(Text(row, column));

    public static double Parse(string cell)
    {
        string text = cell.Trim().Trim('"').Replace(",", "", StringComparison.Ordinal);
        if (text.Length == 0 || text is "-" or "NA" or "?")
        {
            return text == "-" ? 0 : double.NaN;
        }

        string[] parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double value = double.Parse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture);
        string unit = parts.Length > 1 ? parts[1] : "";
        return unit switch
        {
            "ns" => value,
            "us" or "μs" or "µs" => value * 1e3,
            "ms" => value * 1e6,
            "s" => value * 1e9,
            "B" => value,
            "KB" => value * 1024,
            "MB" => value * 1024 * 1024,
            "GB" => value * 1024 * 1024 * 1024,
            _ => value,
        };
    }

    private static string[] Split(string line, char separator)
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
            else if (c == separator && !quoted)
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
