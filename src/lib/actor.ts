// Who is asking: services decide permissions from this, never from a request.
import type { Role } from '../db/schema'

export interface Actor {
  id: number
  role: Role
}
