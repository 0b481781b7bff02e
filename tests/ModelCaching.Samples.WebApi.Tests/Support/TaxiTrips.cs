using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ModelCaching.Samples.WebApi.Tests.Support;

/// <summary>Request bodies and expected answers from the models' README (taxi-fare.zip and its v2).</summary>
internal static class TaxiTrips
{
    /// <summary>("VTS", "1", 1, 1140, 3.75, "CRD").</summary>
    public const string KnownTrip = """{"vendorId":"VTS","rateCode":"1","passengerCount":1,"tripTime":1140,"tripDistance":3.75,"paymentType":"CRD"}""";

    public const float KnownTripFareV1 = 15.5708f;

    public const float KnownTripFareV2 = 17.1279f;

    public const float Tolerance = 0.001f;

    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    public static async Task<JsonElement> PredictAsync(HttpClient client, string body = KnownTrip)
    {
        using HttpResponseMessage response = await client.PostAsync("/predict", Json(body));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /predict answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
}
