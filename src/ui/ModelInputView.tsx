/** The 28×28 input(s) a model actually received, after its preprocessor. */
import { PixelImage } from './PixelImage';

const STRIP_MAX = 8;

export function ModelInputView({ inputs, name }: { inputs: Float32Array[]; name: string }) {
  if (inputs.length === 0) return <div className="model-input model-input--empty" aria-hidden="true" />;
  return (
    <div className="model-input">
      <PixelImage
        data={inputs[0]}
        size={72}
        label={`What ${name} received${inputs.length > 1 ? ' (first draw)' : ''}`}
        testId="result-model-input"
      />
      {inputs.length > 1 && (
        <div className="model-input__strip" aria-hidden="true">
          {inputs.slice(1, STRIP_MAX).map((x, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: draws have no identity beyond their position
            <PixelImage key={i} data={x} size={22} label="" />
          ))}
          {inputs.length > STRIP_MAX && (
            <span className="model-input__more">+{inputs.length - STRIP_MAX}</span>
          )}
        </div>
      )}
    </div>
  );
}
