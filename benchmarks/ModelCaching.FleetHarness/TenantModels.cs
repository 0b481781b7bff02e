using System.Globalization;
using System.IO.Compression;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ModelCaching.FleetHarness;

/// <summary>
/// Distinct tenant models made by code, whose predictions say whose model made them. Tenant <c>i</c>
/// (<see cref="Id"/>: <c>t0000</c> … ) is the sample's taxi-fare model (v1) followed by an ML.NET <c>Expression</c>
/// transform <c>score => score + 100 * (i + 1)</c> on its <c>Score</c> column, saved as <c>tenant-t{i:D4}.zip</c>: a
/// genuine ML.NET pipeline of the sample's schema that loads, is checked and predicts like any tenant's model, and
/// whose fare for a trip is v1's fare plus <see cref="Offset"/>(i). So a test knows, from the fare alone, which
/// tenant's model answered (<see cref="TenantOf"/>).
/// </summary>
/// <remarks>
/// Saving a thousand pipelines with <c>MLContext.Model.Save</c> takes about 50 ms each here (a minute in all), too slow
/// for a test. So tenant 0's model is saved by ML.NET once (as the sample's bundled v2 was, see its Models/README.md) and
/// each other tenant's file is that zip with the constant in the lambda's text replaced by its own, written as the same
/// number of characters: the files load through ML.NET like any other, compile their own lambda, and the tests check
/// every prediction against the tenant it came from. A thousand take well under a second.
/// </remarks>
public static class TenantModels
{
    /// <summary>The fare v1 predicts for the models README's known trip ("VTS", "1", 1, 1140, 3.75, "CRD").</summary>
    public const float KnownTripBaseFare = 15.5708f;

    /// <summary>The known trip, as the sample's <c>POST /tenants/{id}/predict</c> takes it.</summary>
    public const string KnownTrip = """{"vendorId":"VTS","rateCode":"1","passengerCount":1,"tripTime":1140,"tripDistance":3.75,"paymentType":"CRD"}""";

    /// <summary>The tenant id of index <paramref name="index"/>: <c>t0000</c>, <c>t0001</c>, …</summary>
    public static string Id(int index) => "t" + index.ToString("D4", CultureInfo.InvariantCulture);

    /// <summary>The model name the sample gives tenant <paramref name="index"/>: <c>tenant-t0000</c>, …</summary>
    public static string ModelName(int index) => "tenant-" + Id(index);

    /// <summary>What tenant <paramref name="index"/>'s model adds to v1's fare: 100 × (index + 1).</summary>
    public static float Offset(int index) => 100f * (index + 1);

    /// <summary>The fare tenant <paramref name="index"/>'s model predicts for <see cref="KnownTrip"/>.</summary>
    public static float KnownTripFare(int index) => KnownTripBaseFare + Offset(index);

    /// <summary>The index of the tenant whose model predicted <paramref name="knownTripFare"/> for <see cref="KnownTrip"/> (-1 for none).</summary>
    public static int TenantOf(float knownTripFare)
    {
        float steps = (knownTripFare - KnownTripBaseFare) / 100f;
        int index = (int)MathF.Round(steps) - 1;
        // Float sums near 100,000 are exact to about 0.01: anything further off is not a tenant model's answer.
        return index >= 0 && MathF.Abs(KnownTripFare(index) - knownTripFare) < 0.05f ? index : -1;
    }

    /// <summary>
    /// Writes <paramref name="count"/> tenant models (<c>tenant-t0000.zip</c> …) into <paramref name="directory"/>, made
    /// from <paramref name="baseModelPath"/> (the sample's <c>Models/taxi-fare.zip</c>). Returns the bytes written.
    /// </summary>
    public static long Write(string directory, int count, string baseModelPath)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 9_999);
        Directory.CreateDirectory(directory);
        byte[] template = SaveFirst(baseModelPath);
        byte[] placeholder = Encoding.Unicode.GetBytes(OffsetText(0));
        using var source = new ZipArchive(new MemoryStream(template), ZipArchiveMode.Read);
        (string Name, byte[] Content, int At)[] entries = [.. source.Entries.Select(e => Read(e, placeholder))];
        if (entries.Count(e => e.At >= 0) != 1)
        {
            throw new InvalidOperationException("The expression's constant was not found exactly once in the saved model.");
        }

        long bytes = 0;
        for (int i = 0; i < count; i++)
        {
            string path = Path.Combine(directory, ModelName(i) + ".zip");
            using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
            using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
            {
                byte[] constant = Encoding.Unicode.GetBytes(OffsetText(i));
                foreach ((string name, byte[] content, int at) in entries)
                {
                    using Stream entry = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
                    if (at < 0)
                    {
                        entry.Write(content);
                        continue;
                    }

                    entry.Write(content.AsSpan(0, at));
                    entry.Write(constant);
                    entry.Write(content.AsSpan(at + constant.Length));
                }
            }

            bytes += new FileInfo(path).Length;
        }

        return bytes;
    }

    // The constant as the lambda's text holds it: always 8 characters ("   100.0" … "999900.0"), so every tenant's
    // string has the same length and the model file's string table (UTF-16, with lengths and offsets) stays valid.
    private static string OffsetText(int index) => Offset(index).ToString("F1", CultureInfo.InvariantCulture).PadLeft(8);

    // Tenant 0's model, saved by ML.NET: v1 and the Expression transform, in one zip in memory.
    private static byte[] SaveFirst(string baseModelPath)
    {
        var ml = new MLContext(seed: 1);
        ITransformer baseModel = ml.Model.Load(baseModelPath, out DataViewSchema inputSchema);
        IDataView scored = baseModel.Transform(ml.Data.LoadFromEnumerable(new List<Trip>()));
        ITransformer offset = ml.Transforms.Expression("Score", "score => score + " + OffsetText(0), "Score").Fit(scored);
        using var saved = new MemoryStream();
        ml.Model.Save(new TransformerChain<ITransformer>(baseModel, offset), inputSchema, saved);
        return saved.ToArray();
    }

    private static (string Name, byte[] Content, int At) Read(ZipArchiveEntry entry, byte[] placeholder)
    {
        using var content = new MemoryStream();
        using (Stream stream = entry.Open())
        {
            stream.CopyTo(content);
        }

        byte[] bytes = content.ToArray();
        return (entry.FullName, bytes, bytes.AsSpan().IndexOf(placeholder));
    }

    /// <summary>The input columns of taxi-fare.zip, to give the transforms a schema (no rows).</summary>
    private sealed class Trip
    {
        public string VendorId { get; set; } = "";

        public string RateCode { get; set; } = "";

        public float PassengerCount { get; set; }

        public float TripTime { get; set; }

        public float TripDistance { get; set; }

        public string PaymentType { get; set; } = "";

        public float FareAmount { get; set; }
    }
}
