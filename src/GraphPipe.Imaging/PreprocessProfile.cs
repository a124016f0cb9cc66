using System.Collections.Immutable;
using System.Globalization;

namespace GraphPipe.Imaging;

/// <summary>Order of the three colour channels in the output tensor.</summary>
public enum ChannelOrder
{
    Rgb,
    Bgr,
}

/// <summary>Layout of the output tensor: channels last (<c>[N,H,W,3]</c>) or channels first (<c>[N,3,H,W]</c>).</summary>
public enum TensorLayout
{
    Nhwc,
    Nchw,
}

/// <summary>How the source image is brought to the profile's size.</summary>
public enum ResizeMode
{
    /// <summary>Resize to exactly Width x Height, ignoring the aspect ratio (Keras <c>load_img(target_size=...)</c>).</summary>
    Stretch,

    /// <summary>Resize so the shorter side is <see cref="PreprocessProfile.ResizeShorterSide"/>, keeping the aspect ratio, then take the centre Width x Height (torchvision <c>Resize(256) + CenterCrop(224)</c>).</summary>
    ShorterSideCrop,
}

/// <summary>
/// What a model expects of an image: size, channel order, layout and normalisation. Each output value is
/// <c>(pixel * Scale - Mean[c]) / Std[c]</c> where pixel is 0..255 and <c>c</c> is the <em>output</em> channel
/// (so for BGR profiles <c>Mean[0]</c> is the blue mean).
/// </summary>
public sealed class PreprocessProfile
{
    private static readonly ImmutableDictionary<string, PreprocessProfile> Known = new[]
    {
        // Keras applications.vgg16.preprocess_input ("caffe" mode): BGR, mean subtracted, no scaling.
        new PreprocessProfile
        {
            Name = "vgg", Width = 224, Height = 224, ChannelOrder = ChannelOrder.Bgr, Layout = TensorLayout.Nhwc,
            Scale = 1f, Mean = [103.939f, 116.779f, 123.68f], Std = [1f, 1f, 1f], Resize = ResizeMode.Stretch,
        },
        // torchvision ImageNet models: Resize(256), CenterCrop(224), ToTensor, Normalize.
        new PreprocessProfile
        {
            Name = "imagenet", Width = 224, Height = 224, ChannelOrder = ChannelOrder.Rgb, Layout = TensorLayout.Nchw,
            Scale = 1f / 255f, Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f],
            Resize = ResizeMode.ShorterSideCrop, ResizeShorterSide = 256,
        },
        // The bundled ResNet18 demo model subtracts its own mean: it takes raw 0..255 RGB.
        new PreprocessProfile
        {
            Name = "resnet18", Width = 224, Height = 224, ChannelOrder = ChannelOrder.Rgb, Layout = TensorLayout.Nchw,
            Scale = 1f, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f], Resize = ResizeMode.Stretch,
        },
    }.ToImmutableDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public string Name { get; init; } = "custom";

    /// <summary>Output width in pixels.</summary>
    public int Width { get; init; } = 224;

    /// <summary>Output height in pixels.</summary>
    public int Height { get; init; } = 224;

    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;

    public TensorLayout Layout { get; init; } = TensorLayout.Nchw;

    /// <summary>Per output channel (in <see cref="ChannelOrder"/>), subtracted after <see cref="Scale"/>.</summary>
    public float[] Mean { get; init; } = [0f, 0f, 0f];

    /// <summary>Per output channel (in <see cref="ChannelOrder"/>), divided by after the mean is subtracted.</summary>
    public float[] Std { get; init; } = [1f, 1f, 1f];

    /// <summary>Multiplier applied to the 0..255 pixel value before mean and std (e.g. 1/255).</summary>
    public float Scale { get; init; } = 1f;

    public ResizeMode Resize { get; init; } = ResizeMode.Stretch;

    /// <summary>For <see cref="ResizeMode.ShorterSideCrop"/>: the shorter side after resizing, before the centre crop.</summary>
    public int ResizeShorterSide { get; init; } = 256;

    /// <summary>The built-in profile names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["vgg", "imagenet", "resnet18"];

    /// <summary>Floats one image occupies: <c>Width * Height * 3</c>.</summary>
    public int ElementsPerImage => checked(Width * Height * 3);

    /// <summary>The output shape with batch <paramref name="batch"/> (-1 for "any").</summary>
    public ImmutableArray<long> Shape(long batch)
        => Layout == TensorLayout.Nhwc ? [batch, Height, Width, 3] : [batch, 3, Height, Width];

    /// <summary>A built-in profile by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not a built-in profile; the message lists them.</exception>
    public static PreprocessProfile Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // A copy: Mean and Std are arrays, and a caller changing them must not change the built-in profile.
        return Known.TryGetValue(name.Trim(), out var profile)
            ? profile.With()
            : throw new ArgumentException($"unknown preprocess profile '{name}'; known profiles: {string.Join(", ", Names)}", nameof(name));
    }

    /// <summary>A copy (with its own Mean and Std arrays) with the given changes.</summary>
    public PreprocessProfile With(
        int? width = null,
        int? height = null,
        ChannelOrder? channelOrder = null,
        TensorLayout? layout = null,
        float[]? mean = null,
        float[]? std = null,
        float? scale = null,
        ResizeMode? resize = null,
        int? resizeShorterSide = null) => new()
    {
        Name = Name,
        Width = width ?? Width,
        Height = height ?? Height,
        ChannelOrder = channelOrder ?? ChannelOrder,
        Layout = layout ?? Layout,
        Mean = [.. mean ?? Mean],
        Std = [.. std ?? Std],
        Scale = scale ?? Scale,
        Resize = resize ?? Resize,
        ResizeShorterSide = resizeShorterSide ?? ResizeShorterSide,
    };

    /// <summary>Throws when the profile cannot be applied (sizes, three means and stds, no zero std).</summary>
    public void Validate()
    {
        if (Width < 1 || Height < 1 || (long)Width * Height > 64L * 1024 * 1024)
        {
            throw new ArgumentException($"profile '{Name}': size {Width}x{Height} is out of range");
        }

        if (Mean is not { Length: 3 } || Std is not { Length: 3 })
        {
            throw new ArgumentException($"profile '{Name}': mean and std need three values each");
        }

        if (Std.Any(s => s == 0f || !float.IsFinite(s)) || Mean.Any(m => !float.IsFinite(m)) || !float.IsFinite(Scale))
        {
            throw new ArgumentException($"profile '{Name}': std must be finite and non-zero, mean and scale finite");
        }

        if (Resize == ResizeMode.ShorterSideCrop && ResizeShorterSide < Math.Max(Width, Height))
        {
            throw new ArgumentException($"profile '{Name}': shorter side {ResizeShorterSide} is smaller than the crop {Width}x{Height}");
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}: {Width}x{Height} {ChannelOrder} {Layout} scale {Scale:0.######} mean [{string.Join(",", Mean)}] std [{string.Join(",", Std)}] {(Resize == ResizeMode.Stretch ? "stretch" : $"shorter side {ResizeShorterSide} + centre crop")}");
}
