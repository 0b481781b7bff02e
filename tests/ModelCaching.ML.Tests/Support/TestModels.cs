using Microsoft.ML;
using Microsoft.ML.Data;

namespace ModelCaching.ML.Tests.Support;

/// <summary>The real models of ../shared/models, copied next to the tests, with the facts of their README.</summary>
public static class TestModels
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "TestModels");

    public static string IrisPath { get; } = Path.Combine(Directory, "iris.zip");

    public static string TaxiFarePath { get; } = Path.Combine(Directory, "taxi-fare.zip");

    public static string FastTreePath { get; } = Path.Combine(Directory, "fasttree-regression.zip");

    public static string OnnxPath { get; } = Path.Combine(Directory, "breast-cancer-multiclass.onnx");

    public static IrisData Setosa => new() { SepalLength = 5.1f, SepalWidth = 3.5f, PetalLength = 1.4f, PetalWidth = 0.2f };

    public static IrisData Virginica => new() { SepalLength = 6.7f, SepalWidth = 3.0f, PetalLength = 5.2f, PetalWidth = 2.3f };

    public static readonly float[] SetosaScore = [3.9521f, -6.7636f, -46.2549f];

    public static readonly float[] VirginicaScore = [-38.0704f, -24.8571f, -17.7021f];

    public static TaxiTrip Trip => new() { VendorId = "VTS", RateCode = "1", PassengerCount = 1, TripTime = 1140, TripDistance = 3.75f, PaymentType = "CRD" };

    public const float TripFare = 15.5708f;

    /// <summary>A temp folder with a copy of <paramref name="model"/> as <paramref name="fileName"/>; deleted on dispose.</summary>
    public static TempModelFolder CopyToTemp(string model, string fileName = "model.zip") => new(model, fileName);

    public static void AssertScores(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 0.001f);
        }
    }
}

public sealed class TempModelFolder : IDisposable
{
    public TempModelFolder(string model, string fileName)
    {
        Folder = Path.Combine(Path.GetTempPath(), "modelcaching-ml-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Folder);
        FilePath = Path.Combine(Folder, fileName);
        File.Copy(model, FilePath);
    }

    public string Folder { get; }

    public string FilePath { get; }

    /// <summary>Replaces the model file atomically (write beside, then rename), as a deployment would.</summary>
    public void Replace(string model)
    {
        string staging = FilePath + ".tmp";
        File.Copy(model, staging, overwrite: true);
        File.Move(staging, FilePath, overwrite: true);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public class IrisData
{
    public float Label;
    public float SepalLength;
    public float SepalWidth;
    public float PetalLength;
    public float PetalWidth;
}

public class IrisPrediction
{
    public float[] Score = [];
    public float PredictedLabel;
}

/// <summary>iris.zip's PredictedLabel is Single: binding it as uint must be rejected.</summary>
public class IrisPredictionAsUInt
{
    public float[] Score = [];
    public uint PredictedLabel;
}

public class TaxiTrip
{
    public string VendorId = "";
    public string RateCode = "";
    public float PassengerCount;
    public float TripTime;
    public float TripDistance;
    public string PaymentType = "";
    public float FareAmount;
}

public class TaxiFarePrediction
{
    [ColumnName("Score")]
    public float FareAmount;
}

/// <summary>Every input column of both iris.zip and taxi-fare.zip, so one pool can serve either model.</summary>
public class IrisOrTaxiInput
{
    public float Label;
    public float SepalLength;
    public float SepalWidth;
    public float PetalLength;
    public float PetalWidth;
    public string VendorId = "";
    public string RateCode = "";
    public float PassengerCount;
    public float TripTime;
    public float TripDistance;
    public string PaymentType = "";
    public float FareAmount;

    public static IrisOrTaxiInput Sample => new()
    {
        SepalLength = 5.1f, SepalWidth = 3.5f, PetalLength = 1.4f, PetalWidth = 0.2f,
        VendorId = "VTS", RateCode = "1", PassengerCount = 1, TripTime = 1140, TripDistance = 3.75f, PaymentType = "CRD",
    };
}

/// <summary>
/// The one output column both models have with a compatible type: their feature vector (4 values for iris,
/// many for taxi-fare). A result is "whole" when it equals one model's vector exactly.
/// </summary>
public class FeaturesPrediction
{
    public float[] Features = [];
}

/// <summary>An input whose columns throw when the engine reads them, to make a prediction fail.</summary>
public class ThrowingIrisData
{
    [NoColumn]
    public bool Throw { get; set; }

    [NoColumn]
    public float Value { get; set; } = 1;

    public float Label => 0;

    public float SepalLength => Throw ? throw new InvalidOperationException("boom: the input could not be read") : Value;

    public float SepalWidth => Value;

    public float PetalLength => Value;

    public float PetalWidth => Value;
}
