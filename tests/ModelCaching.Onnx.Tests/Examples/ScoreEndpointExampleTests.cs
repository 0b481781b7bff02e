using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelCaching;
using ModelCaching.Onnx;
using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Examples;

/// <summary>
/// The /score endpoint of README.md ("ONNX Runtime"), docs/onnx.md and the package's README, compiled and served on 127.0.0.1 as written:
/// <see cref="StartReadmeAppAsync"/> and <see cref="StartDocsAppAsync"/> hold the same lines, which
/// <see cref="ReadmeAndDocs_ShowTheSameCodeAsThisTest"/> checks. The repro: eight nines, then an empty request,
/// must not give the second caller the first one's scores.
/// </summary>
public sealed class ScoreEndpointExampleTests
{
    private static readonly float[] Nines = [9f, 9f, 9f, 9f, 9f, 9f, 9f, 9f];

    public static TheoryData<string> Examples() => ["README.md", "docs/onnx.md", "src/ModelCaching.Onnx/README.md"];

    [Theory]
    [MemberData(nameof(Examples))]
    public async Task Score_AfterAnotherCaller_AnswersOnlyARequestOfEightFeatures_WithItsOwnScores(string example)
    {
        await using WebApplication app = example == "docs/onnx.md" ? await StartDocsAppAsync() : await StartReadmeAppAsync();
        using var client = new HttpClient { BaseAddress = new Uri(Address(app)), Timeout = TimeSpan.FromSeconds(30) };

        float[]? first = await (await client.PostAsJsonAsync("/score", Nines)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<float[]>();
        HttpResponseMessage empty = await client.PostAsJsonAsync("/score", Array.Empty<float>());
        HttpResponseMessage seven = await client.PostAsJsonAsync("/score", Nines[..7]);
        HttpResponseMessage nine = await client.PostAsJsonAsync("/score", (float[])[.. Nines, 9f]);
        float[]? own = await (await client.PostAsJsonAsync("/score", TestModels.Features)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<float[]>();

        Assert.Equal(TestModels.RawScores(TestModels.Version1, Nines), first);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal("\"Expected 8 features, got 0.\"", await empty.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, seven.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, nine.StatusCode);
        Assert.Equal(TestModels.RawScores(TestModels.Version1), own);
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void ReadmeAndDocs_ShowTheSameCodeAsThisTest(string example)
    {
        string markdown = File.ReadAllText(Path.Combine("Examples", example.Replace('/', '_')));
        string self = File.ReadAllText(Path.Combine("Examples", "ScoreEndpointExampleTests.cs.txt"));
        int section = example == "README.md" ? markdown.IndexOf("### ONNX Runtime", StringComparison.Ordinal) : 0;
        int start = markdown.IndexOf("```csharp", section, StringComparison.Ordinal);
        int end = markdown.IndexOf("```", start + 9, StringComparison.Ordinal);
        Assert.True(section >= 0 && start >= 0 && end > start, $"{example} has the ONNX ```csharp block");

        string[] lines = [.. markdown[(start + 9)..end].Split('\n').Select(static l => l.Trim()).Where(static l => l.Length > 0)];
        Assert.Contains(lines, static l => l.Contains("SetInput<float>(\"Features\", features)", StringComparison.Ordinal));
        foreach (string line in lines)
        {
            Assert.True(self.Contains(line, StringComparison.Ordinal), $"{example} line not in the compiled example: {line}");
        }
    }

    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();

    private static WebApplicationBuilder CreateBuilder()
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        return builder;
    }

    private static async Task<WebApplication> StartReadmeAppAsync()
    {
        WebApplicationBuilder builder = CreateBuilder();

        builder.Services.AddModelCache()
            .AddHostedStartup()                                    // ModelCaching.Hosting: Eager models load at start
            .AddModel<OnnxModel>("breast-cancer", model => model
                .FromFile("models/breast-cancer-multiclass.onnx", watchForChanges: true)
                .UseOnnxRuntime(onnx => onnx.IntraOpThreads = 1)   // signature checked and one warm-up run before every swap
                .Eager(waitForStartup: true));

        WebApplication app = builder.Build();

        app.MapPost("/score", ([FromKeyedServices("breast-cancer")] IModelCache<OnnxModel> cache, float[] features) =>
        {
            if (features.Length != 8)                              // the model's input Features is float [1,8]
            {
                return Results.BadRequest($"Expected 8 features, got {features.Length}.");
            }

            using OnnxInference inference = cache.Rent();          // pins the session's generation; no allocation
            inference.SetString("Label", "0");
            inference.SetInput<float>("Features", features);       // throws unless exactly 8 values: no stale value is read
            inference.Run();                                       // throws if an input was not written since Rent()
            return Results.Ok(inference.Output<float>("Score.onnx").ToArray());
        });

        await app.StartAsync();
        return app;
    }

    private static async Task<WebApplication> StartDocsAppAsync()
    {
        WebApplicationBuilder builder = CreateBuilder();

        builder.Services.AddModelCache()
            .AddHostedStartup()                                    // ModelCaching.Hosting: Eager models load at start
            .AddModel<OnnxModel>("breast-cancer", model => model
                .FromFile("models/breast-cancer-multiclass.onnx", watchForChanges: true)
                .UseOnnxRuntime(onnx =>
                {
                    onnx.IntraOpThreads = 1;                     // one thread per Run: many requests run side by side
                    onnx.Outputs.Add("Score.onnx");              // compute only what you read
                })
                .Eager(waitForStartup: true));

        WebApplication app = builder.Build();

        app.MapPost("/score", ([FromKeyedServices("breast-cancer")] IModelCache<OnnxModel> cache, float[] features) =>
        {
            if (features.Length != 8)                            // Features is float [1,8]: refuse anything else
            {
                return Results.BadRequest($"Expected 8 features, got {features.Length}.");
            }

            using OnnxInference inference = cache.Rent();       // pins the generation, rents a runner: 0 B
            inference.SetString("Label", "0");
            inference.SetInput<float>("Features", features);    // checks the length again (ArgumentException)
            inference.Run();                                     // RunWithBinding on pinned buffers: 0 B
            return Results.Ok(inference.Output<float>("Score.onnx").ToArray());   // the only allocation: what you keep
        });

        await app.StartAsync();
        return app;
    }
}
