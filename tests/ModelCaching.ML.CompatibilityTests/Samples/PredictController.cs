// A controller as in "Deploy a model in an ASP.NET Core Web API" (Microsoft Learn), for the Iris model.
// Migrated from Microsoft.Extensions.ML by changing only the `using` line below.
using Microsoft.AspNetCore.Mvc;
using ModelCaching.ML.Compatibility; // was: using Microsoft.Extensions.ML;

namespace ModelCaching.ML.CompatibilityTests.Samples;

[Route("api/[controller]")]
[ApiController]
public class PredictController : ControllerBase
{
    private readonly PredictionEnginePool<IrisData, IrisPrediction> _predictionEnginePool;

    public PredictController(PredictionEnginePool<IrisData, IrisPrediction> predictionEnginePool)
    {
        _predictionEnginePool = predictionEnginePool;
    }

    [HttpPost]
    public ActionResult<string> Post([FromBody] IrisData input)
    {
        if (!ModelState.IsValid)
        {
            return BadRequest();
        }

        IrisPrediction prediction = _predictionEnginePool.Predict(modelName: "IrisModel", example: input);

        string species = prediction.PredictedLabel switch
        {
            0 => "setosa",
            1 => "versicolor",
            _ => "virginica",
        };

        return Ok(species);
    }
}
