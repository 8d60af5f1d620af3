using VqaPipeline.Inference;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddInference();
var app = builder.Build();
app.MapInference();
await app.RunAsync();
